#!/usr/bin/env bash
# Scenario 3: a strict topic (1, routed by XDP) and a best-effort topic (2, the MoM's socket path) on the same
# port at the same time, from two publishers running concurrently on the two CPUs. Both fully delivered; the
# strict one entirely through the kernel (its counter == N), the best-effort one through the MoM's socket
# (Udp InDatagrams in the mom namespace grows by exactly the best-effort count).
. "$(dirname "$0")/lib.sh"
N=${N:-5000}
setup one-legged 3

start_mom_topics "1 strict --mac sub1 sub2 sub3" "2 best-effort sub1 sub2 sub3"
for s in sub1 sub2 sub3; do start_sub $s $((2 * N)) 30; done

mark_stack_counters sub1 sub2 sub3
publish_together 1 "$N" 10000 2 "$N" 10000
end_traffic
metrics kernel_strict='tempos_kernel_packets_total\{.*topic="1"' kernel_be='tempos_kernel_packets_total\{.*topic="2"' \
    socket_strict='tempos_adapter_sent_total\{.*topic="1"' socket_be='tempos_adapter_sent_total\{.*topic="2"'
cpus=$(kernel_routing_cpus 1)
stop_mom

read -r strict_total strict_min strict_max strict_dups strict_corrupt <<<"$(topic_totals 1 sub1 sub2 sub3)"
read -r be_total be_min be_max be_dups be_corrupt <<<"$(topic_totals 2 sub1 sub2 sub3)"
overlap_ms=$(send_overlap_ms 1 2 sub1 sub2 sub3)
for s in sub1 sub2 sub3; do
    echo "$s: strict unique=$(json_field "$E2E_TMP/$s.json" 1 unique) best-effort unique=$(json_field "$E2E_TMP/$s.json" 2 unique)"
done
echo "strict: sent=$N delivered=$strict_total split $strict_min..$strict_max (routed on $cpus CPUs) dups=$strict_dups corrupt=$strict_corrupt" \
     "kernel=$kernel_strict socket=$socket_strict"
echo "best-effort: sent=$N delivered=$be_total split $be_min..$be_max dups=$be_dups corrupt=$be_corrupt" \
     "kernel=$kernel_be socket=$socket_be"
echo "the two publishers sent concurrently for $overlap_ms ms"
echo "MoM InDatagrams +$mom_in; subscribers' InCsumErrors +$csum"
((overlap_ms > 0)) || fail "the two publishers did not send at the same time"
[ "$strict_total" -eq "$N" ] || fail "strict: delivered $strict_total of $N"
[ "$be_total" -eq "$N" ] || fail "best-effort: delivered $be_total of $N"
[ $((strict_dups + be_dups)) -eq 0 ] || fail "duplicates received"
[ $((strict_corrupt + be_corrupt)) -eq 0 ] || fail "payloads changed on the way"
# The kernel's round-robin cursor is per CPU: each CPU that routed the topic splits its share ±1.
((strict_max - strict_min <= cpus)) || fail "strict split $strict_min..$strict_max off by more than 1 per routing CPU ($cpus)"
((be_max - be_min <= 1)) || fail "best-effort round-robin split off by more than 1: $be_min..$be_max"
[ "$kernel_strict" -eq "$N" ] || fail "strict: $kernel_strict events through the kernel, expected $N"
[ "$socket_strict" -eq 0 ] || fail "strict: $socket_strict events through the socket path"
[ "$kernel_be" -eq 0 ] || fail "best-effort: $kernel_be events through the kernel"
[ "$socket_be" -eq "$N" ] || fail "best-effort: $socket_be copies through the socket path, expected $N"
[ "$mom_in" -eq "$N" ] || fail "MoM InDatagrams grew by $mom_in, expected exactly the $N best-effort events"
[ "$csum" -eq 0 ] || fail "subscribers counted UDP checksum errors"
echo PASS
