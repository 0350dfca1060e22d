#!/usr/bin/env bash
# Scenario 10: the thesis's set-up. config/thesis.toml and its routes file config/thesis-routes.toml (the
# thesis's Listing 4.5 format: five address slots per topic, padding 0.0.0.0 / 0:0:0:0:0:0, MACs written with
# single-digit groups) with only the addresses and MACs replaced by those of the test namespaces (xdp_mode stays
# "auto"; the MoM's bridge port runs the peer program, so auto attaches in native mode). Strict
# topics 1 (one subscriber) and 2 (two) are routed by the kernel with payloads unchanged; best-effort topic 10
# goes through the socket path.
. "$(dirname "$0")/lib.sh"
N=${N:-2000}
SIZE=${SIZE:-200}
setup one-legged 3 --peer-pass

# The thesis writes MAC groups without leading zeros ("0:1b:21:a:b:c"): keep that form.
thesis_mac() { mac_of "$1" | awk -F: '{ for (i = 1; i <= 6; i++) { sub(/^0/, "", $i); printf "%s%s", $i, (i < 6 ? ":" : "\n") } }'; }
sed -e "s/10\.0\.0\.211/$TOPO_IP_sub1/; s/40:a6:b7:66:38:fb/$(thesis_mac sub1)/" \
    -e "s/10\.0\.0\.212/$TOPO_IP_sub2/; s/40:a6:b7:66:38:fc/$(thesis_mac sub2)/" \
    -e "s/10\.0\.0\.213/$TOPO_IP_sub3/; s/0:1b:21:a:b:c/$(thesis_mac sub3)/" \
    "$E2E_ROOT/config/thesis-routes.toml" >"$E2E_TMP/thesis-routes.toml"
sed -e "s/^interface = \"eth0\"/interface = \"$TOPO_MOM_IF\"/" \
    -e "s/10\.0\.0\.221:9998/$TOPO_IP_sub1:$MOM_PORT/" "$E2E_ROOT/config/thesis.toml" >"$E2E_TMP/mom.toml"
# Exactly the substituted lines differ from the files in the tree.
routes_changed=$(diff "$E2E_ROOT/config/thesis-routes.toml" "$E2E_TMP/thesis-routes.toml" | grep -c '^>' || true)
config_changed=$(diff "$E2E_ROOT/config/thesis.toml" "$E2E_TMP/mom.toml" | grep -c '^>' || true)
[ "$routes_changed" -eq 6 ] || fail "expected 6 substituted lines in the routes file, got $routes_changed"
[ "$config_changed" -eq 1 ] || fail "expected 1 substituted line in thesis.toml, got $config_changed"
grep -q 'listen = "0.0.0.0:9998"' "$E2E_TMP/mom.toml" && [ "$MOM_PORT" = 9998 ] || fail "the thesis's port changed"
"$BIN/tempos-mom" --config "$E2E_TMP/mom.toml" --check || fail "tempos-mom --check refuses the thesis config"
start_mom "$E2E_TMP/mom.toml"
grep -q "XDP router attached to $TOPO_MOM_IF .* in native mode" "$E2E_TMP/mom.log" ||
    fail "auto did not choose native with the peer program on the MoM's bridge port"
for s in sub1 sub2 sub3; do start_sub $s 0 30; done

mark_stack_counters sub1 sub2 sub3
publish_on 0 1 "$N" 10000 "$SIZE"
publish_on 0 2 "$N" 10000 "$SIZE"
publish_on 0 10 "$N" 10000 "$SIZE"
end_traffic
read -r k1 _ <<<"$(kernel_counters 1)"
read -r k2 _ <<<"$(kernel_counters 2)"
read -r k10 _ <<<"$(kernel_counters 10)"
cpus2=$(kernel_routing_cpus 2)
stop_mom

for s in sub1 sub2 sub3; do
    echo "$s: topic 1=$(json_field "$E2E_TMP/$s.json" 1 unique) topic 2=$(json_field "$E2E_TMP/$s.json" 2 unique)" \
         "topic 10=$(json_field "$E2E_TMP/$s.json" 10 unique)"
done
read -r t1 _ _ d1 c1 <<<"$(topic_totals 1 sub1 sub2 sub3)"
read -r t2 min2 max2 d2 c2 <<<"$(topic_totals 2 sub2 sub3)"
read -r t10 _ _ d10 c10 <<<"$(topic_totals 10 sub1 sub2 sub3)"
echo "sent $N of each topic ($SIZE-byte payloads); delivered: topic 1=$t1 topic 2=$t2 (split $min2..$max2 on $cpus2 CPUs)" \
     "topic 10=$t10; duplicates=$((d1 + d2 + d10)) changed payloads=$((c1 + c2 + c10)); kernel path: topic 1=$k1" \
     "topic 2=$k2 topic 10=$k10; MoM InDatagrams +$mom_in; InCsumErrors +$csum"
[ "$(json_field "$E2E_TMP/sub1.json" 1 unique)" -eq "$N" ] || fail "topic 1 did not all reach sub1"
[ "$t1" -eq "$N" ] || fail "topic 1 reached other subscribers"
[ "$t2" -eq "$N" ] && [ "$(json_field "$E2E_TMP/sub1.json" 2 unique)" -eq 0 ] || fail "topic 2: $t2 of $N to sub2/sub3"
# The kernel's round-robin cursor is per CPU: each CPU that routed the topic splits its share ±1.
((max2 - min2 <= cpus2)) || fail "topic 2 split $min2..$max2 off by more than 1 per routing CPU ($cpus2)"
[ "$(json_field "$E2E_TMP/sub1.json" 10 unique)" -eq "$N" ] && [ "$t10" -eq "$N" ] || fail "topic 10: $t10 of $N"
[ $((d1 + d2 + d10 + c1 + c2 + c10)) -eq 0 ] || fail "duplicates or changed payloads"
[ "$k1" -eq "$N" ] && [ "$k2" -eq "$N" ] || fail "strict topics not all through the kernel ($k1, $k2)"
[ "$k10" -eq 0 ] || fail "the best-effort topic went through the kernel"
[ "$mom_in" -eq "$N" ] || fail "MoM InDatagrams grew by $mom_in, expected $N (topic 10 only)"
[ "$csum" -eq 0 ] || fail "subscribers counted UDP checksum errors"
echo PASS
