#!/usr/bin/env bash
# Send errors are counted, never taken for sends (docs/isolation.md). An injected fault: a tc tbf qdisc on the
# MoM's interface, slow and short, so that most of a burst of best-effort copies find it full and the kernel
# refuses them (ENOBUFS, reported because the send sockets have IP_RECVERR). Then, with every term from /metrics:
#   received = sent + dropped + send_errors + abandoned      (the MoM's events of the topic)
#   adapter sent + adapter send errors = events handed to the adapter, send errors by reason sum to send errors,
# and the subscriber received exactly the copies counted as sent.
. "$(dirname "$0")/lib.sh"
N=${N:-20000}
setup one-legged 1

start_mom_topics --xdp-mode off "2 best-effort sub1"
start_sub sub1 "$N" 60

# Before the fault: a few events, so that sub1's neighbour entry is resolved (an ARP reply lost to the fault
# would turn into silent drops in the neighbour queue, not what this scenario is about).
publish 2 10 1000
for ((i = 0; i < 100; i++)); do [ "$(metric 'tempos_adapter_sent_total\{.*topic="2"')" -eq 10 ] && break; sleep 0.1; done
[ "$(metric 'tempos_adapter_sent_total\{.*topic="2"')" -eq 10 ] || fail "the warm-up events were not sent"

topo_exec mom tc qdisc add dev "$TOPO_MOM_IF" root tbf rate 1mbit burst 4kb limit 8kb
publish 2 "$N" 0
# Wait (bounded) until the MoM took every event it received and the qdisc sent what it queued.
settled() {
    [ "$(metric 'tempos_queue_depth\{queue="bq"\}')" -eq 0 ] &&
        topo_exec mom tc -s qdisc show dev "$TOPO_MOM_IF" | grep -q 'backlog 0b 0p'
}
last=-1
for ((i = 0; i < 300; i++)); do
    now=$(metric 'tempos_events_received_total\{topic="2"')
    settled && [ "$now" -eq "$last" ] && break
    last=$now
    sleep 0.1
done
settled || fail "the MoM's queue or the tbf qdisc did not empty within 30 s"
topo_exec mom tc qdisc del dev "$TOPO_MOM_IF" root

bq='\{topic="2",path="bq"\}' reason='tempos_adapter_send_errors_by_reason_total\{.*topic="2",reason='
metrics received="tempos_events_received_total$bq" sent="tempos_events_sent_total$bq" \
    dropped="tempos_events_dropped_total$bq" send_errors="tempos_send_errors_total$bq" \
    abandoned="tempos_events_abandoned_total$bq" adapter_sent='tempos_adapter_sent_total\{.*topic="2"' \
    adapter_errors='tempos_adapter_send_errors_total\{.*topic="2"' no_buffers="$reason\"no_buffers\"" \
    would_block="$reason\"would_block\"" by_reason="$reason\"[a-z_]*\"" icmp="$reason\"icmp_" \
    socket_drops=tempos_ingress_socket_drops_total
stop_subs
stop_mom

# The burst's sequence numbers start at 0 again: the warm-up's 10 come back as duplicates, and count as received.
delivered=$(($(json_field "$E2E_TMP/sub1.json" 2 unique) + $(json_field "$E2E_TMP/sub1.json" 2 duplicates)))
echo "published $((N + 10)); the MoM received $received (ingress socket drops $socket_drops): sent=$sent" \
     "dropped=$dropped send_errors=$send_errors abandoned=$abandoned"
echo "adapter: sent=$adapter_sent send_errors=$adapter_errors (no_buffers=$no_buffers would_block=$would_block," \
     "icmp=$icmp, all reasons=$by_reason); sub1 received $delivered"
[ "$received" -eq $((sent + dropped + send_errors + abandoned)) ] ||
    fail "received $received != sent $sent + dropped $dropped + send_errors $send_errors + abandoned $abandoned"
[ "$send_errors" -gt 0 ] || fail "the fault caused no send error: the scenario proves nothing"
[ $((adapter_sent + adapter_errors)) -eq $((sent + send_errors)) ] ||
    fail "the adapter sent $adapter_sent and failed $adapter_errors copies, the MoM handed it $((sent + send_errors)) events"
[ "$adapter_errors" -eq "$send_errors" ] || fail "adapter send errors $adapter_errors != the MoM's $send_errors"
[ $((by_reason - icmp)) -eq "$adapter_errors" ] || fail "the reasons sum to $((by_reason - icmp)), send errors are $adapter_errors"
[ $((no_buffers + would_block)) -eq "$adapter_errors" ] || fail "send errors other than no_buffers/would_block"
[ "$delivered" -eq "$adapter_sent" ] || fail "sub1 received $delivered copies, $adapter_sent were counted as sent"
echo PASS
