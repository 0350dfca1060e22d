#!/usr/bin/env bash
# Scenario 1 (QOS=strict): a strict topic routed by XDP. Every event reaches a subscriber's socket,
# checksums verify in the subscribers' kernels, the split is round-robin (±1), the MoM's socket never sees them.
# The publisher's checksum offload is on (the default): its datagrams are CHECKSUM_PARTIAL, and every frame the
# subscribers receive is captured and its checksum recomputed: native mode must deliver complete checksums,
# generic mode the pseudo-header sum of the new addresses on a skb still marked CHECKSUM_PARTIAL.
# Scenario 2 (QOS=best-effort): the same topic through the MoM's socket path: InDatagrams in the MoM grows by N.
# XDP_MODE: native (default) or generic.
. "$(dirname "$0")/lib.sh"
N=${N:-3000}
setup "${LAYOUT:-one-legged}" 3

start_mom_topics "1 ${QOS:-strict} --mac sub1 sub2 sub3"
for s in sub1 sub2 sub3; do start_sub $s "$N" 20; done

strict=0
[ "${QOS:-strict}" = strict ] && strict=1
((strict)) && start_checksum_captures sub1 sub2 sub3
mark_stack_counters sub1 sub2 sub3
publish 1 "$N" 20000
end_traffic
((strict)) && stop_checksum_captures && read -r complete_ok complete_bad partial_ok partial_bad no_csum <<<"$CAPTURED"
kernel=$(metric "tempos_kernel_packets_total")
# The kernel's round-robin cursor is per CPU: each CPU that routed the topic splits its share ±1 (the socket
# path's cursor is one atomic: ±1).
split_bound=1
[ "${QOS:-strict}" = strict ] && split_bound=$(kernel_routing_cpus 1)
stop_mom

total=0; min=$N; max=0
for s in sub1 sub2 sub3; do
    u=$(json_field "$E2E_TMP/$s.json" 1 unique)
    d=$(json_field "$E2E_TMP/$s.json" 1 duplicates)
    echo "$s: unique=$u duplicates=$d"
    [ "$d" -eq 0 ] || fail "$s received duplicates"
    total=$((total + u)); ((u < min)) && min=$u; ((u > max)) && max=$u
done
echo "delivered=$total of $N; split min=$min max=$max (bound $split_bound); InCsumErrors +$csum;" \
     "MoM InDatagrams +$mom_in; kernel fast path (metrics)=$kernel"
[ "$total" -eq "$N" ] || fail "delivered $total of $N events"
((max - min <= split_bound)) || fail "round-robin split $min..$max off by more than $split_bound"
[ "$csum" -eq 0 ] || fail "subscribers counted UDP checksum errors"
if ((strict)); then
    echo "captured at the subscribers: complete checksum ok $complete_ok, bad $complete_bad; CHECKSUM_PARTIAL ok" \
         "$partial_ok, bad $partial_bad; none $no_csum"
    if [ "$E2E_XDP_MODE" = generic ]; then
        [ "$partial_ok" -eq "$N" ] || fail "$partial_ok of $N frames carry the pseudo-header sum of their addresses"
    else
        [ "$complete_ok" -eq "$N" ] || fail "$complete_ok of $N frames carry a complete, correct checksum"
    fi
    ((mom_in < N)) || fail "the MoM's socket received the strict events"
    [ "$kernel" -eq "$N" ] || fail "metrics report $kernel events through the kernel, expected $N"
else
    ((mom_in >= N)) || fail "the MoM's socket did not receive the best-effort events"
    [ "$kernel" -eq 0 ] || fail "metrics report $kernel best-effort events through the kernel"
fi
echo PASS
