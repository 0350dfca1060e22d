#!/usr/bin/env bash
# Scenario 15: the user's own tc filter behind tempos-mom still works. A clsact ingress u32 filter on the MoM's
# interface drops UDP to port 7777 (another service of the node; redirected into a down ifb: this kernel has no
# act_gact nor cls_matchall, mirred is what it has). The TC fan-out program runs before it in the same hook (tcx
# comes first); for a frame it does not consume it must return TCX_NEXT, or the legacy filters are skipped.
# Checked: without tempos-mom the filter counts all N datagrams and a socket on port 7777 in the MoM's namespace
# receives none; with tempos-mom (router and fan-out attached) the same, while strict events of a fan-out topic are
# all delivered to both groups.
. "$(dirname "$0")/lib.sh"
N=${N:-50}
EVENTS=${EVENTS:-500}
OTHER_PORT=7777
setup one-legged 2

topo_exec mom ip link add tempos-sink type ifb  # left down: mirred drops (and counts) what it redirects there
topo_exec mom tc qdisc add dev "$TOPO_MOM_IF" clsact
topo_exec mom tc filter add dev "$TOPO_MOM_IF" ingress protocol ip pref 10 u32 match ip protocol 17 0xff \
    match ip dport "$OTHER_PORT" 0xffff action mirred egress redirect dev tempos-sink

# filter_hits: packets the filter's action has seen.
filter_hits() {
    topo_exec mom tc -s -j filter show dev "$TOPO_MOM_IF" ingress | python3 -c '
import json, sys
print(sum(a["stats"]["packets"] for f in json.load(sys.stdin) for a in f.get("options", {}).get("actions", [])))'
}
# other_service_received COUNT: sends COUNT datagrams from pub to port OTHER_PORT of the MoM's address and prints
# how many a socket there received (it waits 2 s after the last).
other_service_received() {
    rm -f "$E2E_TMP/other.ready"
    ip netns exec "$TOPO_NS_mom" "$BIN/tempos-sub" --listen "$TOPO_IP_mom:$OTHER_PORT" --count "$1" --timeout 2 \
        --json --ready-file "$E2E_TMP/other.ready" >"$E2E_TMP/other.json" &
    local sub=$! i
    for ((i = 0; i < 50; i++)); do [ -f "$E2E_TMP/other.ready" ] && break; sleep 0.1; done
    topo_exec pub "$BIN/tempos-pub" --to "$TOPO_IP_mom:$OTHER_PORT" --topic 9 --count "$1" --rate 1000 \
        --max-seconds 10 >/dev/null || fail "tempos-pub to port $OTHER_PORT failed"
    wait "$sub" || true
    json_field "$E2E_TMP/other.json" 9 unique
}

before=$(filter_hits)
received=$(other_service_received "$N")
alone=$(($(filter_hits) - before))
echo "without tempos-mom: the filter counted $alone of $N datagrams to port $OTHER_PORT, $received received"
[ "$alone" -eq "$N" ] && [ "$received" -eq 0 ] || fail "the filter does not work on its own (counted $alone, received $received)"

start_mom_topics "3 strict --mac sub1 --group sub2"
[ -n "$(fanout_prog_id)" ] || fail "the TC fan-out program is not attached"
[ -n "$(xdp_prog_id)" ] || fail "the XDP router is not attached"

start_sub sub1 "$EVENTS" 20
start_sub sub2 "$EVENTS" 20
before=$(filter_hits)
received=$(other_service_received "$N")
mark_stack_counters sub1 sub2
publish 3 "$EVENTS" 5000
with_mom=$(($(filter_hits) - before))
end_traffic
read -r events _ <<<"$(fanout_topic_counters 3)"
stop_mom
echo "with tempos-mom: the filter counted $with_mom of $N datagrams to port $OTHER_PORT, $received received"
sub1=$(json_field "$E2E_TMP/sub1.json" 3 unique)
sub2=$(json_field "$E2E_TMP/sub2.json" 3 unique)
echo "fan-out topic: $EVENTS sent, group 1 received $sub1, group 2 $sub2; fan-out events $events; MoM InDatagrams +$mom_in"
[ "$with_mom" -eq "$N" ] || fail "with tempos-mom the filter counted $with_mom of $N datagrams: the tcx chain ended before it"
[ "$received" -eq 0 ] || fail "$received datagrams to port $OTHER_PORT were received although the filter drops them"
[ "$sub1" -eq "$EVENTS" ] && [ "$sub2" -eq "$EVENTS" ] || fail "events lost beside the filter"
[ "$events" -eq "$EVENTS" ] || fail "the fan-out program served $events of $EVENTS events"
[ "$mom_in" -eq 0 ] || fail "the MoM's socket received $mom_in datagrams"
echo PASS
