#!/usr/bin/env bash
# Three brokers, one routing table (docs/cluster.md): three tempos-mom, each in its own namespace with its router
# on its own interface (xdp_mode auto: native in mom, whose bridge port runs the peer program; generic in sub3 and
# sub4), follow one etcd. One `tempos-ctl topics put` reaches all three: each routes the topic in its kernel and
# `tempos-ctl brokers` shows each at the revision of that put; strict events sent through each broker are all
# delivered. A bad value of another topic is refused by each, topic 1 untouched; a change of the topic and its
# delete are followed by every broker.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

N=${N:-1000}
RATE=${RATE:-1000}
BROKERS=(mom sub3 sub4)  # the nodes; broker edge-K runs in BROKERS[K-1]

setup one-legged 4
start_etcd pub
for k in 1 2 3; do start_broker "${BROKERS[k - 1]}" "edge-$k" auto; done

# brokers_at REVISION: every broker registered, at REVISION, none behind.
brokers_at() {
    ctl brokers --json | python3 -c 'import json, sys
b = json.load(sys.stdin)["brokers"]
sys.exit(not (len(b) == 3 and all(x["revision"] == int(sys.argv[1]) and not x["behind"] for x in b)))' "$1"
}
every_route_is() {
    local node
    for node in "${BROKERS[@]}"; do route_is "$node" 1 "$1" || return 1; done
}

modes=$(ctl brokers --json | python3 -c 'import json, sys
print(*(b["node"] + "=" + b["xdp_mode"] + "/" + b["xdp_mode_configured"] for b in json.load(sys.stdin)["brokers"]))')
[ "$modes" = "edge-1=native/auto edge-2=generic/auto edge-3=generic/auto" ] ||
    fail "granted modes in the broker keys: '$modes'"

revision=$(put_topic "{\"id\": 1, \"qos\": \"strict\", \"subscribers\": [$(endpoint_json sub1), $(endpoint_json sub2)]}")
wait_for "every broker's route of topic 1" 100 every_route_is "$TOPO_IP_sub1 $TOPO_IP_sub2" ||
    fail "routes: $(for n in "${BROKERS[@]}"; do echo -n "$n='$(route_members "$n" 1)' "; done)"
wait_for "every broker at revision $revision" 100 brokers_at "$revision" || { ctl brokers; fail "brokers lag"; }
ctl brokers

start_sub sub1 0 60
start_sub sub2 0 60
mark_stack_counters sub1 sub2
for k in 0 1 2; do
    ip_var="TOPO_IP_${BROKERS[k]}"
    topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "${!ip_var}:$MOM_PORT" --topic 1 --count "$N" --rate "$RATE" \
        --first-sequence $((k * N)) --max-seconds 60 >/dev/null || fail "tempos-pub to ${BROKERS[k]} failed"
done
end_traffic
read -r total _ _ dups corrupt <<<"$(topic_totals 1 sub1 sub2)"
per_broker=()
for node in "${BROKERS[@]}"; do per_broker+=("$(broker_redirected "$node" 1)"); done
echo "delivered $total of $((3 * N)) (duplicates $dups, corrupt $corrupt); redirected in the kernel by broker:" \
    "${per_broker[*]}; the brokers' sockets received $mom_in"
((total == 3 * N && dups == 0 && corrupt == 0)) || fail "delivery through the three brokers"
for r in "${per_broker[@]}"; do ((r == N)) || fail "a broker redirected $r of its $N events in the kernel"; done

# A bad value (written past tempos-ctl, which would refuse it): every broker refuses that key, counts it, and keeps
# routing topic 1.
refused_by() { [ "$(broker_metric "$1" tempos_cluster_refused_keys_total)" = 1 ]; }
topo_exec pub env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" put /tempos/topics/2 '{"qos": "fast"}' >/dev/null ||
    fail "etcdctl put"
for node in "${BROKERS[@]}"; do
    wait_for "$node to refuse /tempos/topics/2" 100 refused_by "$node" || fail "$node did not count the refused key"
done
every_route_is "$TOPO_IP_sub1 $TOPO_IP_sub2" || fail "a bad value of another topic changed topic 1's routes"

# A change of the group, then the delete: every broker follows, each at the delete's revision.
put_topic "{\"id\": 1, \"qos\": \"strict\", \"subscribers\": [$(endpoint_json sub2)]}" >/dev/null
wait_for "every broker to follow the change" 100 every_route_is "$TOPO_IP_sub2" || fail "a broker kept the old group"
deleted=$(ctl topics delete 1 | awk '{ print $NF }')
wait_for "every broker to drop topic 1" 100 every_route_is "" || fail "a broker kept topic 1"
wait_for "every broker at revision $deleted" 100 brokers_at "$deleted" || { ctl brokers; fail "brokers lag"; }
echo "PASS: three brokers, one table"
