# Sourced by the cluster scenarios after lib.sh (docs/cluster.md): etcd in a node of the topology
# (`tempos-testkit etcd run`, testing/process/etcd_runner.hpp), tempos-mom with [cluster] in any node, subscribers
# registered with `tempos-sub --register`, tempos-ctl, and the kernel routes a broker holds (tempos-inspect).
# etcd runs in the publisher's namespace on its address: every node of the segment reaches it, and the brokers'
# XDP routers pass its TCP to their stacks.

ETCD_RUNNER_PID=""
CLUSTER_MOM_PIDS=()  # the `mom run` runners of start_broker, by start order

cluster_cleanup() {
    local p
    for p in ${CLUSTER_MOM_PIDS[@]+"${CLUSTER_MOM_PIDS[@]}"} $ETCD_RUNNER_PID; do kill -TERM "$p" 2>/dev/null || true; done
    e2e_cleanup
}

# start_etcd NODE [MEMBERS]: etcd in NODE's namespace on its address; ETCD_ENDPOINTS is the comma-separated list of
# its members' endpoints once every member is healthy.
start_etcd() {
    local node=$1 ip_var="TOPO_IP_$1" i
    rm -f "$E2E_TMP/etcd.ready"
    "$BIN/tempos-testkit" etcd run --ns "$(_topo_ns "$node")" --host "${!ip_var}" --members "${2:-1}" \
        --ready-file "$E2E_TMP/etcd.ready" >"$E2E_TMP/etcd.log" 2>&1 &
    ETCD_RUNNER_PID=$!
    trap 'cluster_cleanup' EXIT
    trap 'cluster_cleanup; exit 130' INT
    trap 'cluster_cleanup; exit 143' TERM
    for ((i = 0; i < 300; i++)); do  # the runner gives up after 20 s itself
        [ -s "$E2E_TMP/etcd.ready" ] && { ETCD_ENDPOINTS=$(cat "$E2E_TMP/etcd.ready"); return 0; }
        kill -0 "$ETCD_RUNNER_PID" 2>/dev/null || { cat "$E2E_TMP/etcd.log" >&2; fail "etcd did not start"; }
        sleep 0.1
    done
    fail "etcd was not healthy within 30 s"
}

# ctl ARGS...: tempos-ctl against the etcd, from the publisher's namespace (where etcd listens).
ctl() { topo_exec pub "$BIN/tempos-ctl" --etcd "$ETCD_ENDPOINTS" "$@"; }

# put_topic JSON: `tempos-ctl topics put -` of a topic value with its "id"; prints the revision written.
put_topic() {
    local out
    out=$(ctl topics put - <<<"$1") || fail "tempos-ctl topics put refused $1: $out"
    awk '{ print $NF }' <<<"$out"
}

# endpoint_json NODE: "IP:PORT" of NODE's subscriber as a member object with its MAC (the kernel path then needs no
# neighbour lookup).
endpoint_json() {
    local ip_var="TOPO_IP_$1"
    printf '{"ip": "%s", "port": %d, "mac": "%s"}' "${!ip_var}" "$MOM_PORT" "$(mac_of "$1")"
}

# start_broker NODE NAME [XDP_MODE]: tempos-mom in NODE with [cluster] (node NAME, etcd ETCD_ENDPOINTS), its
# router on NODE's eth0 in XDP_MODE (default $E2E_XDP_MODE), no topic in its file; waits until it is ready and its
# watch on etcd established. Its log is $E2E_TMP/NAME.log; BROKER_PID_<NODE> is tempos-mom's pid.
start_broker() {
    local node=$1 name=$2 mode=${3:-$E2E_XDP_MODE} ip_var="TOPO_IP_$1" i
    {
        "$BIN/tempos-testkit" mom-config header --listen "${!ip_var}:$MOM_PORT" --interface eth0 \
            --metrics 127.0.0.1:9100 --xdp-mode "$mode"
        "$BIN/tempos-testkit" mom-config cluster --etcd "$ETCD_ENDPOINTS" --node "$name"
    } >"$E2E_TMP/$name.toml"
    rm -f "$E2E_TMP/$name.ready"
    "$BIN/tempos-testkit" mom run --ns "$(_topo_ns "$node")" --config "$E2E_TMP/$name.toml" \
        --log "$E2E_TMP/$name.log" --ready-file "$E2E_TMP/$name.ready" --mom "$BIN/tempos-mom" --log-level debug &
    CLUSTER_MOM_PIDS+=($!)
    for ((i = 0; i < 150; i++)); do
        [ -s "$E2E_TMP/$name.ready" ] && break
        kill -0 "${CLUSTER_MOM_PIDS[-1]}" 2>/dev/null || broker_fail "$name" "tempos-mom did not start"
        sleep 0.1
    done
    [ -s "$E2E_TMP/$name.ready" ] || broker_fail "$name" "tempos-mom was not ready within 15 s"
    printf -v "BROKER_PID_$node" %s "$(cat "$E2E_TMP/$name.ready")"
    wait_for "$name's watch on etcd" 100 broker_metric_is "$node" tempos_cluster_connected 1 ||
        broker_fail "$name" "no watch on etcd"
}

# broker_fail NAME WHY: fail with the end of that broker's log.
broker_fail() {
    echo "--- $1's log (last 30 lines) ---" >&2
    tail -n 30 "$E2E_TMP/$1.log" >&2 || true
    fail "$1: $2"
}

# broker_metric NODE NAME_REGEX: the matching lines of the /metrics of the broker in NODE, summed.
broker_metric() {
    topo_exec "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9100; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3' |
        metric_sum "$2"
}
broker_metric_is() { [ "$(broker_metric "$1" "$2")" = "$3" ]; }

# wait_for WHAT TRIES CMD...: runs CMD every 0.1 s until it succeeds, TRIES times at most; status 1 if it never did.
wait_for() {
    local what=$1 tries=$2 i
    shift 2
    for ((i = 0; i < tries; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    echo "gave up waiting for $what after $tries tries" >&2
    return 1
}

# route_members NODE TOPIC: the addresses of the strict members of TOPIC's kernel route at the broker in NODE
# (tempos-inspect on its eth0), sorted, space-separated; empty when it has no route.
route_members() {
    local state
    state=$(topo_exec "$1" "$BIN/tempos-inspect" --interface eth0 --topic "$2" --json) ||
        fail "tempos-inspect in $1 failed"
    python3 -c 'import json, sys; t = json.load(sys.stdin)["topics"]
print(*sorted(m["ip"] for m in (t[0]["strict_members"] if t else [])))' <<<"$state"
}
route_is() { [ "$(route_members "$1" "$2")" = "$3" ]; }

# broker_redirected NODE TOPIC: events of TOPIC the router of the broker in NODE redirected in the kernel.
broker_redirected() {
    topo_exec "$1" "$BIN/tempos-inspect" --interface eth0 --topic "$2" --json |
        python3 -c 'import json, sys; t = json.load(sys.stdin)["topics"]; print(t[0]["counters"]["redirected_packets"] if t else 0)'
}

# start_registered_sub NODE TOPIC GROUP TTL: a tempos-sub in NODE registered as a member of GROUP of TOPIC under a
# lease of TTL seconds (it is registered once ready); its pid is SUB_PID_<NODE>, its report $E2E_TMP/NODE.json.
start_registered_sub() {
    local node=$1 ip_var="TOPO_IP_$1" i
    rm -f "$E2E_TMP/$node.ready"
    ip netns exec "$(_topo_ns "$node")" "$BIN/tempos-sub" --listen "${!ip_var}:$MOM_PORT" --timeout 120 --json \
        --ready-file "$E2E_TMP/$node.ready" --register "$ETCD_ENDPOINTS" --topic "$2" --group "$3" \
        --lease-ttl "$4" --mac "$(mac_of "$node")" >"$E2E_TMP/$node.json" 2>"$E2E_TMP/$node.err" &
    printf -v "SUB_PID_$node" %s $!
    for ((i = 0; i < 100; i++)); do
        [ -f "$E2E_TMP/$node.ready" ] && return 0
        kill -0 "$!" 2>/dev/null || fail "tempos-sub in $node did not register: $(cat "$E2E_TMP/$node.err")"
        sleep 0.1
    done
    fail "tempos-sub in $node was not ready within 10 s"
}

# count_arrivals NODE: a tc ingress filter on NODE's eth0 that counts the UDP datagrams to the MoM's port, before
# any socket: what a killed subscriber's host received, whether read, left unread in its dead socket or refused with
# NoPorts (Udp InDatagrams counts only what a reader took). This kernel has no gact (pass) action: the filter
# mirrors each datagram to an ifb left down, which drops the copy; the original goes on. arrivals NODE prints the
# count.
count_arrivals() {
    topo_exec "$1" ip link add tempos-count type ifb
    topo_exec "$1" tc qdisc add dev eth0 clsact
    topo_exec "$1" tc filter add dev eth0 ingress protocol ip pref 10 u32 match ip protocol 17 0xff \
        match ip dport "$MOM_PORT" 0xffff action mirred egress mirror dev tempos-count
}
arrivals() {
    topo_exec "$1" tc -s -j filter show dev eth0 ingress | python3 -c 'import json, sys
print(sum(a["stats"]["packets"] for f in json.load(sys.stdin) for a in f.get("options", {}).get("actions", [])))'
}
