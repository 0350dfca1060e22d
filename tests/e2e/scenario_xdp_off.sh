#!/usr/bin/env bash
# Scenario 4: xdp_mode = "off". No program is attached; a strict topic is still fully delivered, through the
# MoM's socket path: Udp InDatagrams in the mom namespace grows by N, the kernel counters stay 0 and /metrics
# reports the adapter's mode as "off".
. "$(dirname "$0")/lib.sh"
N=${N:-3000}
setup one-legged 3

start_mom_topics --xdp-mode off "1 strict --mac sub1 sub2 sub3"
! topo_exec mom ip link show "$TOPO_MOM_IF" | grep -q "prog/xdp" || fail "an XDP program is attached with xdp_mode off"
mode_off=$(metric 'tempos_adapter_mode\{adapter="xdp",mode="off"\}')
for s in sub1 sub2 sub3; do start_sub $s "$N" 20; done

mark_stack_counters sub1 sub2 sub3
publish 1 "$N" 10000
end_traffic
metrics kernel='tempos_kernel_packets_total\{.*topic="1"' passed='tempos_kernel_passed_total\{.*topic="1"' \
    socket='tempos_adapter_sent_total\{.*topic="1"' sq_received='tempos_events_received_total\{topic="1",path="sq"'
stop_mom

read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2 sub3)"
for s in sub1 sub2 sub3; do echo "$s: unique=$(json_field "$E2E_TMP/$s.json" 1 unique)"; done
echo "sent=$N delivered=$total split $min..$max dups=$dups corrupt=$corrupt; metrics: mode off=$mode_off" \
     "kernel=$kernel kernel_passed=$passed sq_received=$sq_received socket_sent=$socket;" \
     "MoM InDatagrams +$mom_in; InCsumErrors +$csum"
[ "$mode_off" -eq 1 ] || fail "/metrics does not report the xdp adapter in mode \"off\""
[ "$total" -eq "$N" ] || fail "delivered $total of $N events"
[ $((dups + corrupt)) -eq 0 ] || fail "duplicates or changed payloads"
((max - min <= 1)) || fail "round-robin split off by more than 1: $min..$max"
[ "$kernel" -eq 0 ] && [ "$passed" -eq 0 ] || fail "kernel counters are not 0 without a program"
[ "$mom_in" -eq "$N" ] || fail "MoM InDatagrams grew by $mom_in, expected $N (the socket path)"
[ "$sq_received" -eq "$N" ] || fail "the strict dispatcher took $sq_received events, expected $N"
[ "$socket" -eq "$N" ] || fail "the socket path sent $socket copies, expected $N"
[ "$csum" -eq 0 ] || fail "subscribers counted UDP checksum errors"
echo PASS
