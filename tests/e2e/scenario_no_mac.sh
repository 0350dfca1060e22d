#!/usr/bin/env bash
# Scenario 5: subscribers without a MAC in the config. The XDP program asks the kernel's FIB for the next hop
# (bpf_fib_lookup); while a subscriber's neighbour entry does not exist yet the lookup fails, the program passes
# the event up (pass reason FIB), the MoM's socket path delivers it and, by sending, makes the kernel resolve
# the neighbour; later events take the kernel path. None is lost and the counters show both paths.
# What a user must do, as here: bpf_fib_lookup answers FWD_DISABLED (and every event takes the socket path)
# unless IPv4 forwarding is enabled on the MoM's interface: sysctl net.ipv4.conf.<if>.forwarding=1.
# FORWARDING=0 checks that case: every event is passed up (reason FIB) and delivered by the socket path.
. "$(dirname "$0")/lib.sh"
N=${N:-3000}
FORWARDING=${FORWARDING:-1}
setup one-legged 3
topo_exec mom sysctl -qw "net.ipv4.conf.$TOPO_MOM_IF.forwarding=$FORWARDING"

{ mom_config_header; topic_toml 1 strict sub1 sub2 sub3; } >"$E2E_TMP/mom.toml"
start_mom "$E2E_TMP/mom.toml"
for s in sub1 sub2 sub3; do start_sub $s "$N" 20; done
# Fresh namespaces: the MoM has no neighbour entry for any subscriber yet.
neigh_before=$(topo_exec mom ip -4 neigh show dev "$TOPO_MOM_IF" | grep -c -E "^10\.77\.0\.1[1-3] " || true)

mark_stack_counters sub1 sub2 sub3
publish 1 "$N" 5000
end_traffic
read -r k_redirected _ _ _ _ _ _ k_not_strict k_ttl k_fib k_no_egress _ <<<"$(kernel_counters 1)"
kernel=$(metric 'tempos_kernel_packets_total\{.*topic="1"')
passed=$(metric 'tempos_kernel_passed_total\{.*topic="1"')
sq_received=$(metric 'tempos_events_received_total\{topic="1",path="sq"')
socket=$(metric 'tempos_adapter_sent_total\{.*topic="1"')
neigh_after=$(topo_exec mom ip -4 neigh show dev "$TOPO_MOM_IF" | grep -c -E "^10\.77\.0\.1[1-3] " || true)
stop_mom

read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2 sub3)"
for s in sub1 sub2 sub3; do echo "$s: unique=$(json_field "$E2E_TMP/$s.json" 1 unique)"; done
echo "sent=$N delivered=$total dups=$dups corrupt=$corrupt; kernel path=$kernel, passed up=$passed" \
     "(FIB=$k_fib not_strict=$k_not_strict ttl=$k_ttl no_egress=$k_no_egress), sq_received=$sq_received," \
     "socket path sent=$socket; MoM InDatagrams +$mom_in; InCsumErrors +$csum;" \
     "subscriber neighbour entries in mom: before=$neigh_before after=$neigh_after"
[ "$neigh_before" -eq 0 ] || fail "the MoM knew a subscriber's MAC before the first event"
[ "$total" -eq "$N" ] || fail "delivered $total of $N events"
[ $((dups + corrupt)) -eq 0 ] || fail "duplicates or changed payloads"
if [ "$FORWARDING" = 1 ]; then
    ((kernel > 0)) || fail "no event took the kernel path after the neighbours resolved"
    ((socket > 0)) || fail "no event took the socket path while the neighbours resolved"
else
    [ "$kernel" -eq 0 ] || fail "$kernel events took the kernel path with forwarding disabled"
fi
[ "$k_redirected" -eq "$kernel" ] || fail "BPF map ($k_redirected) and /metrics ($kernel) disagree"
[ "$k_fib" -eq "$passed" ] || fail "events passed up for another reason than FIB: $passed passed, $k_fib FIB"
# Every event the program passed up reached the MoM's socket and was sent by its socket path.
[ "$mom_in" -eq "$passed" ] || fail "MoM InDatagrams +$mom_in, but the program passed $passed up"
[ "$sq_received" -eq "$passed" ] || fail "the strict dispatcher took $sq_received of the $passed passed events"
[ "$socket" -eq "$passed" ] || fail "the socket path sent $socket of the $passed passed events"
[ $((kernel + socket)) -eq "$N" ] || fail "kernel $kernel + socket $socket != $N"
[ "$csum" -eq 0 ] || fail "subscribers counted UDP checksum errors"
echo PASS
