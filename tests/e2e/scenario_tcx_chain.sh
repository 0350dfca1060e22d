#!/usr/bin/env bash
# Scenario 15: the user's own tc filter behind tempos-mom still works. A clsact ingress u32 filter on the MoM's
# interface drops ICMP (redirected into a down ifb: this kernel has no act_gact nor cls_matchall, mirred is what
# it has). The TC fan-out program runs before it in the same hook (tcx comes first); for a frame it does not
# consume it must return TCX_NEXT, or the legacy filters are skipped: with TC_ACT_OK (= TCX_PASS) this scenario
# saw the filter count 0 of 50 pings and 50 answered while tempos-mom ran.
# Checked: without tempos-mom the filter counts N pings and none is answered; with tempos-mom (router and fan-out
# attached) the same; meanwhile strict events of a fan-out topic are still all delivered to both groups.
. "$(dirname "$0")/lib.sh"
N=${N:-50}
EVENTS=${EVENTS:-500}
setup one-legged 2

topo_exec mom ip link add tempos-sink type ifb  # left down: mirred drops (and counts) what it redirects there
topo_exec mom tc qdisc add dev "$TOPO_MOM_IF" clsact
topo_exec mom tc filter add dev "$TOPO_MOM_IF" ingress protocol ip pref 10 u32 match ip protocol 1 0xff \
    action mirred egress redirect dev tempos-sink

# filter_hits: packets the filter's action has seen.
filter_hits() {
    topo_exec mom tc -s -j filter show dev "$TOPO_MOM_IF" ingress | python3 -c '
import json, sys
print(sum(a["stats"]["packets"] for f in json.load(sys.stdin) for a in f.get("options", {}).get("actions", [])))'
}
# pings_answered COUNT: how many of COUNT pings from pub to the MoM were answered.
pings_answered() {
    topo_exec pub ping -n -q -c "$1" -i 0.01 -W 1 "$TOPO_IP_mom" |
        awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^received/) print $(i - 1) }' || true
}

before=$(filter_hits)
answered=$(pings_answered "$N")
alone=$(($(filter_hits) - before))
echo "without tempos-mom: the filter counted $alone of $N pings, $answered answered"
[ "$alone" -eq "$N" ] && [ "$answered" -eq 0 ] || fail "the filter does not work on its own (counted $alone, answered $answered)"

{ mom_config_header; topic_toml 3 strict --mac sub1 --group sub2; } >"$E2E_TMP/mom.toml"
start_mom "$E2E_TMP/mom.toml"
[ -n "$(fanout_prog_id)" ] || fail "the TC fan-out program is not attached"
[ -n "$(xdp_prog_id)" ] || fail "the XDP router is not attached"

start_sub sub1 "$EVENTS" 20
start_sub sub2 "$EVENTS" 20
before=$(filter_hits)
answered=$(pings_answered "$N")
publish 3 "$EVENTS" 5000
with_mom=$(($(filter_hits) - before))
end_traffic
read -r events _ <<<"$(fanout_topic_counters 3)"
stop_mom
echo "with tempos-mom: the filter counted $with_mom of $N pings, $answered answered"
sub1=$(json_field "$E2E_TMP/sub1.json" 3 unique)
sub2=$(json_field "$E2E_TMP/sub2.json" 3 unique)
echo "fan-out topic: $EVENTS sent, group 1 received $sub1, group 2 $sub2; fan-out events $events; MoM InDatagrams +$mom_in"
[ "$with_mom" -eq "$N" ] || fail "with tempos-mom the filter counted $with_mom of $N pings: the tcx chain ended before it"
[ "$answered" -eq 0 ] || fail "$answered pings were answered although the filter drops ICMP"
[ "$sub1" -eq "$EVENTS" ] && [ "$sub2" -eq "$EVENTS" ] || fail "events lost beside the filter"
[ "$events" -eq "$EVENTS" ] || fail "the fan-out program served $events of $EVENTS events"
[ "$mom_in" -eq 0 ] || fail "the MoM's socket received $mom_in datagrams"
echo PASS
