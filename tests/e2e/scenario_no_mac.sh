#!/usr/bin/env bash
# Scenario 5: a subscriber without a MAC in the config, in one group with two that have one (sub1, sub2 with
# MAC, sub3 without), as a user's host is: IPv4 forwarding off on the MoM (FORWARDING=1 checks it changes nothing).
# The adapter resolves sub3's neighbour itself (plugin/neighbour_resolver.hpp) and writes its MAC into the route,
# so no sysctl is needed and no strict event reaches the MoM's socket: the split is exact (±1 per routing CPU).
# Then sub3 changes its MAC (announced by a gratuitous ARP, arp_notify): the adapter rewrites the route and the
# events of a second round keep arriving at sub3, split exactly again, still none through the socket.
. "$(dirname "$0")/lib.sh"
N=${N:-3000}
FORWARDING=${FORWARDING:-0}
setup one-legged 3
topo_exec mom sysctl -qw "net.ipv4.conf.$TOPO_MOM_IF.forwarding=$FORWARDING" "net.ipv4.conf.all.forwarding=$FORWARDING"

{
    mom_config_header
    "$BIN/tempos-testkit" mom-config topic --id 1 --qos strict --subscribers \
        "$TOPO_IP_sub1:$MOM_PORT@$(mac_of sub1),$TOPO_IP_sub2:$MOM_PORT@$(mac_of sub2),$TOPO_IP_sub3:$MOM_PORT"
} >"$E2E_TMP/mom.toml"
# Fresh namespaces: the MoM has no neighbour entry for sub3 yet.
neigh_before=$(topo_exec mom ip -4 neigh show dev "$TOPO_MOM_IF" | grep -c -E "^$TOPO_IP_sub3 " || true)
[ "$neigh_before" -eq 0 ] || fail "the MoM knew sub3's MAC before it started"
start_mom "$E2E_TMP/mom.toml"

# round NAME: N events to the three subscribers (fresh tempos-sub reports); checks the exact split, that nothing
# was lost and that the MoM's socket took no strict event; prints what it measured.
round() {
    local name=$1 s total min max dups corrupt cpus sq unresolved kernel
    for s in sub1 sub2 sub3; do start_sub $s "$N" 20; done
    mark_stack_counters sub1 sub2 sub3
    publish 1 "$N" 5000
    end_traffic
    read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2 sub3)"
    cpus=$(kernel_routing_cpus 1)
    sq=$(metric 'tempos_events_received_total\{topic="1",path="sq"')
    unresolved=$(metric 'tempos_kernel_passed_unresolved_total\{.*topic="1"')
    kernel=$(metric 'tempos_kernel_packets_total\{.*topic="1"')
    echo "$name: sent=$N delivered=$total" \
         "sub1=$(json_field "$E2E_TMP/sub1.json" 1 unique) sub2=$(json_field "$E2E_TMP/sub2.json" 1 unique)" \
         "sub3=$(json_field "$E2E_TMP/sub3.json" 1 unique) (routing CPUs $cpus) dups=$dups corrupt=$corrupt;" \
         "kernel path total=$kernel, passed unresolved total=$unresolved, sq_received total=$sq;" \
         "MoM InDatagrams +$mom_in; InCsumErrors +$csum"
    [ "$total" -eq "$N" ] || fail "$name: delivered $total of $N events"
    [ $((dups + corrupt)) -eq 0 ] || fail "$name: duplicates or changed payloads"
    ((max - min <= cpus)) || fail "$name: split $min..$max is not exact (±1 per routing CPU, $cpus CPUs)"
    [ "$sq" -eq 0 ] || fail "$name: $sq strict events went through the MoM's socket"
    [ "$mom_in" -eq 0 ] || fail "$name: the MoM's socket received $mom_in datagrams"
    [ "$unresolved" -eq 0 ] || fail "$name: $unresolved events passed up for an unresolved neighbour"
    [ "$csum" -eq 0 ] || fail "$name: subscribers counted UDP checksum errors"
}

wait_route_mac 1 2 "$(mac_of sub3)"
echo "sub3's neighbour resolved by the adapter: $(route_mac 1 2) (forwarding=$FORWARDING);" \
     "MoM's entry: $(topo_exec mom ip -4 neigh show "$TOPO_IP_sub3" dev "$TOPO_MOM_IF")"
round "round 1"

new_mac=02:5e:00:00:00:33
topo_exec sub3 sysctl -qw net.ipv4.conf.eth0.arp_notify=1
topo_exec sub3 ip link set dev eth0 address "$new_mac"
wait_route_mac 1 2 "$new_mac"
echo "sub3 changed its MAC to $new_mac; the route follows: $(route_mac 1 2)"
round "round 2"
[ "$(json_field "$E2E_TMP/sub3.json" 1 unique)" -gt 0 ] || fail "no event reached sub3 after its MAC changed"
[ "$(metric 'tempos_kernel_packets_total\{.*topic="1"')" -eq $((2 * N)) ] || fail "not every event took the kernel path"
stop_mom
echo PASS
