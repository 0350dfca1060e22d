#!/usr/bin/env bash
# Kernel fan-out (docs/fanout.md): a strict topic with 4 subscription groups of 2 subscribers. The XDP router
# passes the topic up (one group only is its job) and the TC program clones each event once per group toward
# that group's round-robin member. Every group receives all N events, split ±1 between its two members (the
# publisher is pinned to one CPU: the cursors are per CPU), checksums verify in every subscriber's kernel, and
# the MoM's socket never sees an event.
. "$(dirname "$0")/lib.sh"
N=${N:-2000}
GROUPS_N=4
PER_GROUP=2
SUBS=$((GROUPS_N * PER_GROUP))
setup one-legged "$SUBS"

{ mom_config_header; cat <<TOML
[[topics]]
id = 3
qos = "strict"
TOML
for ((g = 0; g < GROUPS_N; g++)); do
    echo "  [[topics.groups]]"
    echo "  subscribers = ["
    for ((m = 1; m <= PER_GROUP; m++)); do
        s=sub$((g * PER_GROUP + m)); ip_var="TOPO_IP_$s"
        echo "    { ip = \"${!ip_var}\", port = $MOM_PORT, mac = \"$(mac_of "$s")\" },"
    done
    echo "  ]"
done
} >"$E2E_TMP/mom.toml"
start_mom "$E2E_TMP/mom.toml"
ALL_SUBS=()
for ((i = 1; i <= SUBS; i++)); do ALL_SUBS+=("sub$i"); start_sub "sub$i" "$N" 20; done

mom_in_before=$(snmp_udp mom InDatagrams)
csum_before=$(sum_snmp_udp InCsumErrors "${ALL_SUBS[@]}")
publish 3 "$N" 20000
sleep 1
for p in "${SUB_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
wait_subs
mom_in_after=$(snmp_udp mom InDatagrams)
csum_after=$(sum_snmp_udp InCsumErrors "${ALL_SUBS[@]}")
kernel=$(metric "tempos_kernel_packets_total")
stop_mom
grep -q "TC fan-out program attached" "$E2E_TMP/mom.log" || fail "the TC fan-out program was not attached"

for ((g = 0; g < GROUPS_N; g++)); do
    total=0; min=$N; max=0; line=""
    for ((m = 1; m <= PER_GROUP; m++)); do
        s=sub$((g * PER_GROUP + m))
        u=$(json_field "$E2E_TMP/$s.json" 3 unique)
        d=$(json_field "$E2E_TMP/$s.json" 3 duplicates)
        [ "$d" -eq 0 ] || fail "$s (group $g) received duplicates"
        line+=" $s=$u"
        total=$((total + u)); ((u < min)) && min=$u; ((u > max)) && max=$u
    done
    echo "group $g:$line total=$total"
    [ "$total" -eq "$N" ] || fail "group $g received $total of $N events"
    ((max - min <= 1)) || fail "group $g: round-robin split off by more than 1: $min..$max"
done
echo "InCsumErrors +$((csum_after - csum_before)); MoM InDatagrams +$((mom_in_after - mom_in_before));" \
     "kernel copies (metrics)=$kernel"
[ "$csum_after" -eq "$csum_before" ] || fail "subscribers counted UDP checksum errors"
[ "$mom_in_after" -eq "$mom_in_before" ] || fail "the MoM's socket received $((mom_in_after - mom_in_before)) datagrams"
[ "$kernel" -eq $((GROUPS_N * N)) ] || fail "metrics report $kernel copies through the kernel, expected $((GROUPS_N * N))"
echo PASS
