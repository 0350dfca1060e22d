#!/usr/bin/env bash
# Isolation under a best-effort flood (docs/isolation.md), in the user's topology (xdp_mode auto, offloads on):
# an unpaced, bounded best-effort flood (topic 2, rate-limited in XDP, handed to the best-effort CPUs through the
# cpumap) and N_STRICT strict events (topic 1, routed by XDP) at 10 k/s, from two publishers at the same time.
# Checked: every strict event delivered; every best-effort event either delivered or counted by a counter in
# /metrics (policed, cpumap queue drops, the MoM's interface receive drops, its ingress socket and queue drops) or
# by the subscribers' stacks, so that
#   sent = delivered + counted drops   exactly, over both classes;
# and the rate limit really took effect (some events policed) with the partial checksums zeroed (delivered > 0).
. "$(dirname "$0")/lib.sh"
N_STRICT=${N_STRICT:-5000}
N_FLOOD=${N_FLOOD:-200000}
RATE_LIMIT=${RATE_LIMIT:-20000}
BURST=${BURST:-2000}
setup one-legged 2

{
    mom_config_header auto best_effort_nice=19
    topic_toml 1 strict --mac sub1
    "$BIN/tempos-testkit" mom-config topic --id 2 --qos best-effort --subscribers "$TOPO_IP_sub2:$MOM_PORT" \
        --rate-limit "$RATE_LIMIT" --burst "$BURST"
} >"$E2E_TMP/mom.toml"
start_mom "$E2E_TMP/mom.toml"
# The best-effort CPUs' cpumap threads at the lowest priority (best_effort_nice = 19), one per online CPU (the
# default set on a veth): the strict receive path's ksoftirqd has the CPU whenever it needs it.
expected_nices=$(for ((c = 0; c < $(nproc); c++)); do echo -n "$c=19 "; done | sed 's/ $//')
nices=$(best_effort_thread_nices)
[ "$nices" = "$expected_nices" ] || fail "the best-effort cpumap threads (CPU=nice): '$nices', expected '$expected_nices'"
start_sub sub1 "$N_STRICT" 60
start_sub sub2 "$N_FLOOD" 60

# Drops before XDP (the MoM's interface's own, and a full receive ring of its veth, which the kernel counts on the
# sending side: the bridge port's transmit drops, exported as tempos_device_peer_tx_dropped_total) and in the MoM's
# ingress sockets, from /metrics; the subscribers' sockets from their namespaces' Udp RcvbufErrors.
ring_full="tempos_device_peer_tx_dropped_total\\{.*interface=\"$TOPO_MOM_IF\",peer=\"p-mom-$TOPO_MOM_IF\""
metrics_page | grep -Eq "$ring_full" || fail "no tempos_device_peer_tx_dropped_total for $TOPO_MOM_IF's bridge port"
metrics rx_dropped_before=tempos_interface_rx_dropped_total socket_drops_before=tempos_ingress_socket_drops_total \
    peer_dropped_before="$ring_full"
rcvbuf_before=$(sum_snmp_udp RcvbufErrors sub1 sub2)
bridge_port_tx_dropped() { topo_exec lan cat "/sys/class/net/p-mom-$TOPO_MOM_IF/statistics/tx_dropped"; }
bridge_port_before=$(bridge_port_tx_dropped)

mark_stack_counters sub1 sub2
publish_together 1 "$N_STRICT" 10000 2 "$N_FLOOD" 0
end_traffic

metrics rx_dropped_after=tempos_interface_rx_dropped_total socket_drops_after=tempos_ingress_socket_drops_total \
    policed='tempos_policed_events_total\{.*topic="2"' policed_rate='tempos_policed_events_total\{.*topic="2",reason="topic_rate"' \
    queue_dropped='tempos_best_effort_unarrived\{.*topic="2"' offloaded='tempos_best_effort_offloaded_total\{.*topic="2"' \
    mom_dropped='tempos_events_dropped_total\{topic="2"' send_errors='tempos_adapter_send_errors_total\{.*topic="2"' \
    kernel_strict='tempos_kernel_packets_total\{.*topic="1"' peer_dropped_after="$ring_full"
rx_dropped=$((rx_dropped_after - rx_dropped_before)) socket_drops=$((socket_drops_after - socket_drops_before))
rcvbuf=$(($(sum_snmp_udp RcvbufErrors sub1 sub2) - rcvbuf_before))
peer_dropped=$((peer_dropped_after - peer_dropped_before))
# /metrics says what the bridge port itself counts (traffic has ended: neither moves any more).
bridge_port_dropped=$(($(bridge_port_tx_dropped) - bridge_port_before))
[ "$peer_dropped" -eq "$bridge_port_dropped" ] ||
    fail "tempos_device_peer_tx_dropped_total +$peer_dropped, the bridge port's tx_dropped +$bridge_port_dropped"
stop_mom

read -r strict_total _ _ strict_dups strict_corrupt <<<"$(topic_totals 1 sub1)"
read -r be_total _ _ be_dups be_corrupt <<<"$(topic_totals 2 sub2)"
overlap_ms=$(send_overlap_ms 1 2 sub1 sub2)
sent=$((N_STRICT + N_FLOOD))
delivered=$((strict_total + be_total))
counted=$((policed + queue_dropped + rx_dropped + peer_dropped + socket_drops + rcvbuf + mom_dropped + send_errors))
echo "strict: sent=$N_STRICT delivered=$strict_total (kernel $kernel_strict) dups=$strict_dups corrupt=$strict_corrupt"
echo "best-effort: sent=$N_FLOOD delivered=$be_total policed=$policed (topic_rate $policed_rate)" \
     "to the best-effort CPUs=$offloaded cpumap queue drops=$queue_dropped MoM queue drops=$mom_dropped" \
     "send errors=$send_errors"
echo "MoM interface rx drops +$rx_dropped, its veth ring full (peer tx drops) +$peer_dropped, MoM ingress socket drops" \
     "+$socket_drops, subscribers' RcvbufErrors +$rcvbuf"
echo "sent $sent = delivered $delivered + counted $counted; unaccounted $((sent - delivered - counted))"
echo "the publishers overlapped for $overlap_ms ms; MoM InDatagrams +$mom_in; subscribers' InCsumErrors +$csum;" \
     "best-effort cpumap threads (CPU=nice) $nices"
((overlap_ms > 0)) || fail "the flood and the strict stream did not overlap"
[ $((strict_dups + be_dups + strict_corrupt + be_corrupt)) -eq 0 ] || fail "duplicates or changed payloads"
[ "$((sent - delivered))" -eq "$counted" ] ||
    fail "$((sent - delivered - counted)) events lost without a counter saying where"
((policed_rate > 0)) || fail "the flood was never policed: the rate limit did not take effect"
((be_total > 0)) || fail "no best-effort event was delivered (partial checksums after the cpumap?)"
[ "$strict_total" -eq "$N_STRICT" ] ||
    fail "strict: delivered $strict_total of $N_STRICT; the MoM's interface dropped $rx_dropped frames before XDP"
echo PASS
