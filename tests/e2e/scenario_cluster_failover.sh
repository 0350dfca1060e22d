#!/usr/bin/env bash
# Automatic failover of the kernel path through leases (docs/cluster.md, "Failover"): a broker follows a cluster
# topic from etcd; its group is a static subscriber (sub3) and two that registered themselves with
# `tempos-sub --register` under a short lease (sub1, sub2). Strict events flow at a fixed rate; sub2 is SIGKILLed.
# Once its lease has expired the broker's kernel route no longer holds it (tempos-inspect), and every later event
# reaches the others. Every event is accounted for: offered = delivered (sub1, sub3) + what reached sub2 (a tc
# counter on its interface), of which its tempos-sub read some before the kill (Udp InDatagrams), some sat unread
# in its socket, and the rest came after its socket had closed (NoPorts): the loss inherent to a lease, bounded by
# its TTL. Then etcd is stopped: the broker keeps its routes (connected 0) and the kernel path keeps delivering.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

TTL=${TTL:-2}
RATE=${RATE:-1000}
N=${N:-6000}  # phase A: across the kill and the lease's expiry (6 s at 1000/s)
M=${M:-1000}  # phases B and C: after the route no longer holds sub2; C with etcd stopped

setup one-legged 3
start_etcd pub
start_broker mom edge-1
put_topic "{\"id\": 1, \"qos\": \"strict\", \"subscribers\": [$(endpoint_json sub3)]}" >/dev/null
start_registered_sub sub1 1 0 "$TTL"
start_registered_sub sub2 1 0 "$TTL"
start_sub sub3 0 120
SUB_PIDS+=("$SUB_PID_sub1")
all="$TOPO_IP_sub1 $TOPO_IP_sub2 $TOPO_IP_sub3"
survivors="$TOPO_IP_sub1 $TOPO_IP_sub3"
wait_for "the route to hold the three members" 100 route_is mom 1 "$all" ||
    broker_fail edge-1 "route of topic 1: '$(route_members mom 1)', expected '$all'"
ctl members list --topic 1
broker_current() { ctl brokers --json | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["brokers"][0]["behind"])'; }
wait_for "the broker key at the newest write" 100 broker_current || fail "the broker's key stays behind"
ctl brokers
# The mode the kernel granted, beside the one configured.
granted=$(ctl brokers --json | python3 -c 'import json, sys; b = json.load(sys.stdin)["brokers"][0]
print(b["xdp_mode"], b["xdp_mode_configured"])')
[ "$granted" = "$E2E_XDP_MODE $E2E_XDP_MODE" ] || fail "broker key's xdp mode: '$granted', expected '$E2E_XDP_MODE' twice"

in_before=$(snmp_udp sub2 InDatagrams)
noports_before=$(snmp_udp sub2 NoPorts)
count_arrivals sub2
topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 1 --count "$N" --rate "$RATE" \
    --max-seconds 60 >/dev/null &
pub=$!
sub2_receives() { (($(snmp_udp sub2 InDatagrams) - in_before >= 100)); }
wait_for "sub2 to receive events" 100 sub2_receives || fail "sub2 received no events"
kill -KILL "$SUB_PID_sub2"
killed_ns=$(mono_ns)
# The lease expires TTL after its last keep-alive; then etcd deletes the key, the watch brings the delete, the
# route is rewritten. Bounded: TTL plus 10 s.
wait_for "the route to drop sub2" $(((TTL + 10) * 10)) route_is mom 1 "$survivors" ||
    broker_fail edge-1 "route of topic 1 after sub2's death: '$(route_members mom 1)', expected '$survivors'"
gone_ns=$(mono_ns)
noports_at_route_change=$(snmp_udp sub2 NoPorts)
wait "$pub" || fail "tempos-pub (phase A) failed"
[ "$(snmp_udp sub2 NoPorts)" = "$noports_at_route_change" ] ||
    fail "events reached sub2 after the route no longer held it"
ctl members list --topic 1

# Phase B: every event goes to the survivors.
topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 1 --count "$M" --rate "$RATE" \
    --first-sequence "$N" --max-seconds 60 >/dev/null || fail "tempos-pub (phase B) failed"
# Phase C: etcd gone, the broker keeps its routes and the kernel path keeps delivering.
kill -TERM "$ETCD_RUNNER_PID"
wait "$ETCD_RUNNER_PID" || fail "the etcd runner exited with status $?"
ETCD_RUNNER_PID=""
wait_for "the broker to see etcd gone" 100 broker_metric_is mom tempos_cluster_connected 0 ||
    broker_fail edge-1 "tempos_cluster_connected stays 1 without etcd"
route_is mom 1 "$survivors" || fail "routes without etcd: '$(route_members mom 1)', expected '$survivors'"
topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 1 --count "$M" --rate "$RATE" \
    --first-sequence $((N + M)) --max-seconds 60 >/dev/null || fail "tempos-pub (phase C) failed"
wait_delivered sub1 sub3
stop_subs
[ "$(snmp_udp sub2 NoPorts)" = "$noports_at_route_change" ] || fail "phase B or C events reached sub2"

sub2_read=$(($(snmp_udp sub2 InDatagrams) - in_before))
sub2_closed=$(($(snmp_udp sub2 NoPorts) - noports_before))
sub2_reached=$(arrivals sub2)
sub2_unread=$((sub2_reached - sub2_read - sub2_closed))
read -r delivered _ _ dups corrupt <<<"$(topic_totals 1 sub1 sub3)"
offered=$((N + 2 * M))
redirected=$(broker_redirected mom 1)
echo "offered $offered: delivered to sub1+sub3 $delivered, reached sub2 $sub2_reached (read by it before the kill" \
    "$sub2_read, unread in its socket at the kill $sub2_unread, after its socket closed $sub2_closed);" \
    "kernel redirected $redirected; kill to route change $(((gone_ns - killed_ns) / 1000000)) ms (lease TTL $TTL s)"
echo "lost to the dead member between the kill and the route change: $((sub2_unread + sub2_closed))" \
    "(bound, docs/cluster.md: (TTL + 0.5 s) x rate / members = $(((TTL * 1000 + 500) * RATE / 3000)))"
((dups == 0 && corrupt == 0)) || fail "$dups duplicates, $corrupt corrupt payloads"
((redirected == offered)) || fail "the kernel redirected $redirected of $offered events"
((sub2_unread >= 0)) || fail "sub2's counters disagree: reached $sub2_reached < read $sub2_read + NoPorts $sub2_closed"
((delivered + sub2_reached == offered)) || fail "unaccounted events: offered $offered != $delivered + $sub2_reached"
echo "PASS: cluster failover"
