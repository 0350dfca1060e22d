# Sourced by every end-to-end scenario: privileges, the topology, tempos-mom and the traffic tools.
# A scenario prints what it measured and exits 0 (pass), 1 (fail) or 77 (skipped: only outside CI).
set -euo pipefail

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${TEMPOS_BUILD_DIR:-$E2E_ROOT/build}
BIN=$BUILD_DIR/bin
E2E_TMP=$(mktemp -d /tmp/tempos-e2e.XXXXXX)
MOM_PORT=9998
# The router's mode in this scenario's Controller TOML (mom_config_header), native unless XDP_MODE says otherwise.
E2E_XDP_MODE=${XDP_MODE:-native}
. "$E2E_ROOT/scripts/lib/topology.sh"

e2e_cleanup() {
    [ -z "${SOCKET_HOLDER_PID:-}" ] || { kill -TERM "$SOCKET_HOLDER_PID" 2>/dev/null; wait "$SOCKET_HOLDER_PID" 2>/dev/null; }
    topo_destroy
    rm -rf "$E2E_TMP"
}

require_privileges() {
    local why=""
    [ "$(id -u)" -eq 0 ] || why="not root"
    [ -z "$why" ] && ! ip netns add "tempos-probe-$$" 2>/dev/null && why="cannot create network namespaces"
    ip netns del "tempos-probe-$$" 2>/dev/null || true
    if [ -n "$why" ]; then
        if [ "${TEMPOS_REQUIRE_PRIVILEGED:-}" = 1 ]; then
            echo "FAIL: privileged scenario cannot run: $why" >&2
            exit 1
        fi
        echo "SKIP: $why"
        exit 77
    fi
}

fail() {
    echo "FAIL: $*" >&2
    if [ -f "$E2E_TMP/mom.log" ]; then
        echo "--- tempos-mom log (last 40 lines) ---" >&2
        tail -n 40 "$E2E_TMP/mom.log" >&2
    fi
    echo "--- interfaces that dropped frames ---" >&2
    topo_drop_report >&2
    exit 1
}

# setup LAYOUT N [OPTION...]: topology with N subscribers, built as a user's host is (topo_create's OPTIONs add
# to it); the cleanup trap covers the temp dir too. Native XDP into a veth is received only if the peer runs an
# XDP program, the documented requirement of native mode on veth (docs/known-issues.md): a scenario running the
# router natively (E2E_XDP_MODE native) gets the peer program on the MoM's bridge ports unless it says
# --without-peer-pass (a scenario about that loss); others get it only by asking (--peer-pass).
setup() {
    local layout=$1 n=$2 option options=() peer_pass=auto
    shift 2
    for option in "$@"; do
        case $option in
            --without-peer-pass) peer_pass=no ;;
            --peer-pass) peer_pass=yes ;;
            *) options+=("$option") ;;
        esac
    done
    [ "$peer_pass" = auto ] && [ "$E2E_XDP_MODE" = native ] && peer_pass=yes
    [ "$peer_pass" = yes ] && options+=(--peer-pass)
    require_privileges
    trap 'e2e_cleanup' EXIT  # also when topo_create fails; it installs its own traps, replaced again below
    topo_create "$layout" "$n" ${options[@]+"${options[@]}"}
    trap 'e2e_cleanup' EXIT
    trap 'e2e_cleanup; exit 130' INT
    trap 'e2e_cleanup; exit 143' TERM
}

mac_of() { topo_exec "$1" cat "/sys/class/net/${2:-eth0}/address"; }

# snmp_udp NODE FIELD: a counter of the Udp: line of /proc/net/snmp in NODE's namespace.
snmp_udp() {
    topo_exec "$1" awk -v f="$2" '/^Udp:/ { if (!n) { for (i = 1; i <= NF; i++) h[i] = $i; n = 1 } else
        for (i = 1; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/snmp
}

# start_mom CONFIG [WRAPPER...]: runs tempos-mom ($MOM_BIN, else the build's; with --plugin-dir $MOM_PLUGIN_DIR
# when set) in the mom namespace, through
# WRAPPER when given (a command that execs it, e.g. setpriv), and waits until it is ready: `tempos-testkit mom run`
# (testing/process/mom_runner.hpp) stays its parent, writes its pid to a file once it logged "tempos-mom running"
# (the routes are in place) and its port is bound, passes SIGTERM/SIGINT/SIGHUP on and exits with its status.
# MOM_PID is tempos-mom itself (for kill -KILL, kill -HUP, /proc/$MOM_PID); MOM_RUNNER_PID the runner.
start_mom() {
    local config=$1
    shift
    rm -f "$E2E_TMP/mom.ready"
    "$BIN/tempos-testkit" mom run --ns "$TOPO_NS_mom" --config "$config" --log "$E2E_TMP/mom.log" \
        --ready-file "$E2E_TMP/mom.ready" --mom "${MOM_BIN:-$BIN/tempos-mom}" --log-level debug \
        ${MOM_PLUGIN_DIR:+--plugin-dir "$MOM_PLUGIN_DIR"} ${MOM_SOCKETS:+--sockets-from "$MOM_SOCKETS"} -- "$@" &
    MOM_RUNNER_PID=$!
    local i
    for ((i = 0; i < 150; i++)); do  # the runner gives up after 10 s itself
        if [ -s "$E2E_TMP/mom.ready" ]; then
            MOM_PID=$(cat "$E2E_TMP/mom.ready")
            return 0
        fi
        kill -0 "$MOM_RUNNER_PID" 2>/dev/null || fail "tempos-mom did not start (the runner's reason is above)"
        sleep 0.1
    done
    fail "tempos-mom was not ready within 15 s"
}

# hold_sockets: what the socket unit tempos-mom.socket does (docs/restart.md): tempos-mom's two ingress sockets,
# bound to $TOPO_IP_mom:$MOM_PORT in the MoM's namespace by a process of their own (`tempos-testkit sockets
# hold`, SOCKET_HOLDER_PID, ended by e2e_cleanup) that holds them while tempos-mom stops and starts; every
# start_mom from then on gets them by socket activation (MOM_SOCKETS).
hold_sockets() {
    MOM_SOCKETS=$E2E_TMP/sockets.sock
    "$BIN/tempos-testkit" sockets hold --ns "$TOPO_NS_mom" --listen "$TOPO_IP_mom:$MOM_PORT" --socket "$MOM_SOCKETS" &
    SOCKET_HOLDER_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        [ -S "$MOM_SOCKETS" ] && return 0
        kill -0 "$SOCKET_HOLDER_PID" 2>/dev/null || fail "tempos-testkit sockets hold exited"
        sleep 0.1
    done
    fail "tempos-testkit sockets hold did not serve within 5 s"
}

# start_mom_topics [--xdp-mode MODE] TOPIC...: writes $E2E_TMP/mom.toml, mom_config_header (MODE, else
# $E2E_XDP_MODE) and a topic_toml per TOPIC (one argument: its words, "ID QOS [--mac] NODE..."), and starts
# tempos-mom on it (start_mom).
start_mom_topics() {
    local mode=$E2E_XDP_MODE topic
    [ "$1" = --xdp-mode ] && { mode=$2; shift 2; }
    {
        mom_config_header "$mode"
        for topic in "$@"; do
            # shellcheck disable=SC2086  # the topic's words are topic_toml's arguments
            topic_toml $topic
        done
    } >"$E2E_TMP/mom.toml"
    start_mom "$E2E_TMP/mom.toml"
}

stop_mom() {
    kill -TERM "$MOM_RUNNER_PID" 2>/dev/null || true
    wait "$MOM_RUNNER_PID" || fail "tempos-mom exited with status $? on SIGTERM"
}

# node_endpoint NODE: "IP:PORT" of NODE on the MoM's port; NODE/6: its IPv6 address, "[IP6]:PORT" (a topology
# built with --ipv6).
node_endpoint() {
    local ip_var
    if [[ $1 == */6 ]]; then
        ip_var="TOPO_IP6_${1%/6}"
        echo "[${!ip_var}]:$MOM_PORT"
    else
        ip_var="TOPO_IP_$1"
        echo "${!ip_var}:$MOM_PORT"
    fi
}

# start_sub NODE COUNT TIMEOUT: a tempos-sub in NODE writing its JSON report to $E2E_TMP/NODE.json; NODE/6 listens
# on NODE's IPv6 address instead (the report is still NODE.json).
start_sub() {
    local node=${1%/6}
    rm -f "$E2E_TMP/$node.ready"
    ip netns exec "$(_topo_ns "$node")" "$BIN/tempos-sub" --listen "$(node_endpoint "$1")" --count "$2" --timeout "$3" --json \
        --ready-file "$E2E_TMP/$node.ready" >"$E2E_TMP/$node.json" &
    SUB_PIDS+=($!)
    local i
    for ((i = 0; i < 50; i++)); do [ -f "$E2E_TMP/$node.ready" ] && return 0; sleep 0.1; done
    fail "tempos-sub in $node did not start"
}
SUB_PIDS=()

wait_subs() {
    local p
    for p in "${SUB_PIDS[@]}"; do wait "$p" || fail "tempos-sub exited with status $?"; done
    SUB_PIDS=()
}

# json_field FILE TOPIC FIELD: a per-topic number from a tempos-sub report (0 when the topic is absent).
json_field() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(report["topics"].get(sys.argv[2], {}).get(sys.argv[3], 0))
PY
}

# mom_socket_receives COUNT: a plain socket bound to the MoM's address and port in its namespace (what the kernel
# stack gets when no program takes the events) while COUNT strict events of topic 1 are published; prints how many
# it received.
mom_socket_receives() {
    rm -f "$E2E_TMP/mom-sub.ready"
    ip netns exec "$TOPO_NS_mom" "$BIN/tempos-sub" --listen "$TOPO_IP_mom:$MOM_PORT" --count "$1" --timeout 10 --json \
        --ready-file "$E2E_TMP/mom-sub.ready" >"$E2E_TMP/mom-sub.json" &
    local sub=$! i
    for ((i = 0; i < 50; i++)); do [ -f "$E2E_TMP/mom-sub.ready" ] && break; sleep 0.1; done
    publish 1 "$1" 1000
    wait "$sub" || true
    json_field "$E2E_TMP/mom-sub.json" 1 unique
}

# publish TOPIC COUNT RATE: tempos-pub in the pub namespace, pinned to one CPU (the kernel's round-robin
# cursor is per CPU: one CPU gives the exact ±1 split the scenarios check).
publish() { publish_on 0 "$@"; }

# publish_on CPU TOPIC COUNT RATE [SIZE]: the same on a chosen CPU (two publishers at once on two CPUs). To the
# MoM's IPv4 address, or to PUBLISH_TO ("[IP6]:PORT") when set.
publish_on() {
    topo_exec pub taskset -c "$1" "$BIN/tempos-pub" --to "${PUBLISH_TO:-$TOPO_IP_mom:$MOM_PORT}" --topic "$2" --count "$3" \
        --rate "$4" --size "${5:-32}" --max-seconds 60 >/dev/null || fail "tempos-pub (topic $2) failed"
}

# publish_together TOPIC COUNT RATE TOPIC COUNT RATE: two publishers at the same time, the first on CPU 0, the
# second on CPU 1; returns when both have sent everything.
publish_together() {
    publish_on 0 "$1" "$2" "$3" &
    local first=$!
    publish_on 1 "$4" "$5" "$6"
    wait "$first" || fail "the publisher of topic $1 failed"
}

# stop_subs: ends every tempos-sub still waiting (they print their report on SIGINT) and waits for them.
stop_subs() {
    local p
    for p in "${SUB_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait_subs
}

# start_checksum_captures NODE...: in each NODE, captures the UDP frames to the MoM's port that its eth0 receives
# and checks every UDP checksum by recomputing it in full (`tempos-testkit frames capture-checksums`,
# testing/frames/udp_checksum_check.hpp): a veth receiver trusts a CHECKSUM_PARTIAL skb without checking it, so
# InCsumErrors alone cannot prove the generic path. Runs until stop_checksum_captures (60 s at most).
start_checksum_captures() {
    local node i
    CAPTURE_PIDS=()
    CAPTURE_NODES=("$@")
    for node in "$@"; do
        rm -f "$E2E_TMP/$node.capture.ready"
        "$BIN/tempos-testkit" frames capture-checksums --ns "$(_topo_ns "$node")" --ifname eth0 --port "$MOM_PORT" \
            --timeout 60 --ready-file "$E2E_TMP/$node.capture.ready" >"$E2E_TMP/$node.capture.json" &
        CAPTURE_PIDS+=($!)
    done
    for node in "$@"; do
        for ((i = 0; i < 50; i++)); do [ -f "$E2E_TMP/$node.capture.ready" ] && break; sleep 0.1; done
        [ -f "$E2E_TMP/$node.capture.ready" ] || fail "the checksum capture in $node did not start"
    done
}

# stop_checksum_captures: ends the captures and sets CAPTURED to their verdicts summed over the nodes:
# "complete_ok complete_bad partial_ok partial_bad none" (not in a subshell: the captures are this shell's children).
stop_checksum_captures() {
    local p node
    for p in "${CAPTURE_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    for p in "${CAPTURE_PIDS[@]}"; do wait "$p" || fail "a checksum capture exited with status $?"; done
    CAPTURED=$(python3 - "$E2E_TMP" "${CAPTURE_NODES[@]}" <<'PY'
import json, sys
tmp, nodes = sys.argv[1], sys.argv[2:]
keys = ["complete_ok", "complete_bad", "partial_ok", "partial_bad", "none"]
total = {k: 0 for k in keys}
for node in nodes:
    counts = json.load(open(f"{tmp}/{node}.capture.json"))
    for k in keys:
        total[k] += counts[k]
print(*(total[k] for k in keys))
PY
)
}

# topic_totals TOPIC NODE...: "total min max duplicates corrupt" of a topic over the nodes' tempos-sub reports
# (unique events summed, the smallest and largest share, duplicates and corrupt payloads summed).
topic_totals() {
    local topic=$1; shift
    python3 - "$E2E_TMP" "$topic" "$@" <<'PY'
import json, sys
tmp, topic, nodes = sys.argv[1], sys.argv[2], sys.argv[3:]
shares, dups, corrupt = [], 0, 0
for node in nodes:
    lines = [l for l in open(f"{tmp}/{node}.json") if l.strip()]
    t = json.loads(lines[-1])["topics"].get(topic, {})
    shares.append(t.get("unique", 0)); dups += t.get("duplicates", 0); corrupt += t.get("corrupt", 0)
print(sum(shares), min(shares), max(shares), dups, corrupt)
PY
}

# topic_send_span TOPIC NODE...: "first last": the earliest and latest send time (CLOCK_MONOTONIC ns) of the
# topic's events the nodes received.
topic_send_span() {
    local topic=$1; shift
    python3 - "$E2E_TMP" "$topic" "$@" <<'PY'
import json, sys
tmp, topic, nodes = sys.argv[1], sys.argv[2], sys.argv[3:]
first, last = [], []
for node in nodes:
    lines = [l for l in open(f"{tmp}/{node}.json") if l.strip()]
    t = json.loads(lines[-1])["topics"].get(topic)
    if t and t["unique"]:
        first.append(t["first_sent_ns"]); last.append(t["last_sent_ns"])
print(min(first, default=0), max(last, default=0))
PY
}

# send_overlap_ms TOPIC TOPIC NODE...: for how many ms the two topics' events the nodes received were sent at the
# same time (from the send times of topic_send_span; not positive when the two sends did not overlap).
send_overlap_ms() {
    local a_first a_last b_first b_last
    read -r a_first a_last <<<"$(topic_send_span "$1" "${@:3}")"
    read -r b_first b_last <<<"$(topic_send_span "$2" "${@:3}")"
    echo $(( ( (a_last < b_last ? a_last : b_last) - (a_first > b_first ? a_first : b_first) ) / 1000000 ))
}

# mono_ns: CLOCK_MONOTONIC now, in ns (the clock tempos-pub stamps events with; shared by all namespaces).
mono_ns() { python3 -c 'import time; print(time.monotonic_ns())'; }

# mom_state [ARGS...]: the MoM's live kernel state on its interface as tempos-inspect's JSON (docs/inspect.md):
# programs, routes, per-CPU counters summed. Exit status 2: no XDP program is attached.
mom_state() { topo_exec mom "$BIN/tempos-inspect" --interface "$TOPO_MOM_IF" --json "$@"; }

# mom_state_query PYTHON [ARGS...]: runs PYTHON with `s`, the parsed mom_state ARGS; prints what it prints.
mom_state_query() {
    local code=$1 state
    shift
    state=$(mom_state "$@") || fail "tempos-inspect on $TOPO_MOM_IF failed"
    python3 -c "import json, sys; s = json.load(sys.stdin); $code" <<<"$state"
}

# route_mac TOPIC INDEX: the MAC the router's route of TOPIC writes for its member INDEX (0-based), "None" while it
# has none (a member without a configured MAC before the adapter's neighbour resolver found it).
route_mac() { mom_state_query "print(s['topics'][0]['strict_members'][$2]['mac'])" --topic "$1"; }

# group_member_mac TOPIC GROUP INDEX: the same for member INDEX of fan-out group GROUP (both 0-based) of TOPIC.
group_member_mac() { mom_state_query "print(s['topics'][0]['groups'][$2]['members'][$3]['mac'])" --topic "$1"; }

# wait_for_mac MAC COMMAND...: polls (0.1 s, at most 50 times) until COMMAND (route_mac, group_member_mac) prints MAC.
wait_for_mac() {
    local want=$1 i
    shift
    for ((i = 0; i < 50; i++)); do
        [ "$("$@")" = "$want" ] && return 0
        sleep 0.1
    done
    fail "$* gives $("$@"), not $want, after 5 s"
}
wait_route_mac() { wait_for_mac "$3" route_mac "$1" "$2"; }

# attached_prog_id xdp|fanout: the id of the MoM's XDP router or TC fan-out program on its interface (empty when
# no XDP program is attached, or no fan-out program).
attached_prog_id() {
    local state rc=0
    state=$(mom_state 2>"$E2E_TMP/inspect.err") || rc=$?
    ((rc != 2)) || return 0
    ((rc == 0)) || fail "tempos-inspect on $TOPO_MOM_IF failed: $(cat "$E2E_TMP/inspect.err")"
    python3 -c 'import json, sys; p = json.load(sys.stdin)[sys.argv[1]]; print(p["id"] if p else "")' "$1" <<<"$state"
}
xdp_prog_id() { attached_prog_id xdp; }

# kernel_routing_cpus TOPIC: how many CPUs routed events of TOPIC in the kernel. Each CPU has its own
# round-robin cursor (xdp_abi.h), so a split is exact to ±1 per CPU that took part.
kernel_routing_cpus() {
    mom_state_query 'print(s["topics"][0]["counters"]["redirecting_cpus"])' --topic "$1"
}

# kernel_counters SLOT: the router's per-CPU counters of a topic (0..255) or of slot 256 (frames without a
# topic), summed over CPUs, read from the BPF map of the program attached to the MoM's interface:
# "redirected aborted not_ipv4 malformed fragment not_our_port no_payload not_strict ttl fib no_egress fanout
# partial_csum not_for_us too_big ext_header family best_effort" (the last: handed to the best-effort CPUs, docs/isolation.md).
kernel_counters() {
    local args=(--topic "$1")
    [ "$1" -ne 256 ] || args=()  # slot 256 is the state's no_topic, reported with every query
    mom_state_query "
c = s['no_topic'] if $1 == 256 else s['topics'][0]['counters']
reasons = ['not_ipv4', 'malformed', 'fragment', 'not_our_port', 'no_payload', 'not_strict', 'ttl', 'fib',
           'no_egress', 'fanout', 'partial_csum', 'not_for_us', 'too_big', 'ext_header', 'family']
print(c['redirected_packets'], c['aborted'], *(c['passed'][r] for r in reasons), c['best_effort_offered'])" "${args[@]}"
}

fanout_prog_id() { attached_prog_id fanout; }

# fanout_group_counters TOPIC GROUP: the fan-out program's counters of one group of TOPIC summed over CPUs, and
# how many CPUs sent it copies: "copies clone_errors unresolved cpus". The round-robin cursor is per CPU and
# per group (xdp_abi.h), so a group's split is exact to ±1 per CPU that took part.
fanout_group_counters() {
    mom_state_query "
g = s['topics'][0]['groups'][$2]['counters']
print(g['copies'], g['clone_errors'], g['unresolved'], g['copying_cpus'])" --topic "$1"
}

# fanout_topic_counters TOPIC: the fan-out program's counters of TOPIC summed over CPUs:
# "events passed_ttl passed_unresolved passed_gso aborted passed_family".
fanout_topic_counters() {
    mom_state_query "
c = s['topics'][0]['fanout_counters']
print(c['events'], c['passed_ttl'], c['passed_unresolved'], c['passed_gso'], c['aborted'], c['passed_family'])" \
        --topic "$1"
}

# metrics_page: tempos-mom's /metrics as served on 127.0.0.1:9100 in mom.
metrics_page() {
    topo_exec mom bash -c 'exec 3<>/dev/tcp/127.0.0.1/9100; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3'
}

# metric_sum NAME_REGEX: sums the lines of a /metrics page on stdin whose name (with labels) matches.
metric_sum() { awk -v re="$1" '$0 !~ /^#/ && $1 ~ re { s += $NF } END { printf "%d\n", s }'; }

# metric NAME_REGEX: sums the matching lines of tempos-mom's /metrics.
metric() { metrics_page | metric_sum "$1"; }

# metrics VAR=NAME_REGEX...: one scrape of /metrics (the values are of one moment); sets each VAR to the sum of
# the lines its NAME_REGEX matches, as metric does.
metrics() {
    local _metrics_page _metrics_spec
    _metrics_page=$(metrics_page)
    for _metrics_spec in "$@"; do
        printf -v "${_metrics_spec%%=*}" %d "$(metric_sum "${_metrics_spec#*=}" <<<"$_metrics_page")"
    done
}

# counters_not_reset BEFORE AFTER NAME_REGEX: compares two saved metrics_page outputs: every sample of a
# counter (# TYPE ... counter) whose name matches NAME_REGEX in BEFORE must be in AFTER with a value >= (what
# Prometheus needs to see no reset). Prints how many were compared and the ones that went back ("name{labels}
# before -> after", or "missing"); exit status 1 when one did.
counters_not_reset() {
    python3 - "$@" <<'PY'
import re, sys
def samples(path):
    counters, values = set(), {}
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()[:4]
            if kind == "counter":
                counters.add(name)
        elif line and not line.startswith("#") and " " in line:
            key, value = line.rsplit(" ", 1)
            try:
                values[key] = float(value)
            except ValueError:
                pass  # the HTTP status and headers
    return {k: v for k, v in values.items() if re.split(r"[{ ]", k)[0] in counters}
before, after, pattern = samples(sys.argv[1]), samples(sys.argv[2]), re.compile(sys.argv[3])
compared = [k for k in before if pattern.search(re.split(r"[{ ]", k)[0])]
went_back = [f"{k} {before[k]:g} -> {after[k]:g}" if k in after else f"{k} missing" for k in compared
             if after.get(k, -1) < before[k]]
print(f"{len(compared)} counters compared" + "".join(f"; went back: {w}" for w in went_back))
sys.exit(1 if went_back or not compared else 0)
PY
}

# watch_metric NAME VALUE TIMEOUT: polls /metrics from inside the mom namespace every 2 ms until the line NAME
# (exact, with its labels) reads VALUE, then prints CLOCK_MONOTONIC ns of that moment; exits 1 on timeout.
# Start it in the background before the action it waits for: it is ready once $E2E_TMP/watch.ready exists.
watch_metric() {
    rm -f "$E2E_TMP/watch.ready"
    topo_exec mom python3 - "$1" "$2" "$3" "$E2E_TMP/watch.ready" <<'PY'
import http.client, sys, time
name, value, timeout, ready = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
open(ready, "w").close()
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    conn = http.client.HTTPConnection("127.0.0.1", 9100, timeout=1)
    conn.request("GET", "/metrics")
    for line in conn.getresponse().read().decode().splitlines():
        if line.startswith(name + " ") and line.split()[-1] == value:
            print(time.monotonic_ns())
            sys.exit(0)
    conn.close()
    time.sleep(0.002)
sys.exit(1)
PY
}

# snmp6 NODE FIELD: a counter of /proc/net/snmp6 in NODE's namespace (Udp6InDatagrams, Udp6InCsumErrors, ...).
snmp6() { topo_exec "$1" awk -v f="$2" '$1 == f { print $2 }' /proc/net/snmp6; }

# sum_snmp_udp FIELD NODE...: the sum of a Udp counter over several namespaces.
# fanout_group_problems TOPIC N GROUPS PER_GROUP: the subscribers' reports of a fanned-out TOPIC whose group g has
# members sub(g*PER_GROUP+1)..sub((g+1)*PER_GROUP), against the kernel's group counters read before stop_mom into
# the array group_counters (fanout_group_counters, one entry per group): prints a line per group and, as the last
# line, "problem:" and the first problem (nothing after it: none): a group that did not receive all N events, duplicates, a kernel count
# other than N copies, or a round-robin split off by more than one per CPU that sent the group copies.
fanout_group_problems() {
    local topic=$1 n=$2 groups=$3 per_group=$4 g m s u d total min max line copies clone_errors bound problem=""
    for ((g = 0; g < groups; g++)); do
        total=0; min=$n; max=0; line=""
        for ((m = 1; m <= per_group; m++)); do
            s=sub$((g * per_group + m))
            u=$(json_field "$E2E_TMP/$s.json" "$topic" unique)
            d=$(json_field "$E2E_TMP/$s.json" "$topic" duplicates)
            [ "$d" -eq 0 ] || problem=${problem:-"$s (group $g) received duplicates"}
            line+=" $s=$u"
            total=$((total + u)); ((u < min)) && min=$u; ((u > max)) && max=$u
        done
        read -r copies clone_errors _ bound <<<"${group_counters[g]}"
        echo "topic $topic group $g:$line total=$total; kernel: $copies copies from $bound CPU(s), $clone_errors clone errors"
        [ "$total" -eq "$n" ] || problem=${problem:-"topic $topic group $g received $total of $n events"}
        [ "$copies" -eq "$n" ] || problem=${problem:-"topic $topic group $g: the kernel sent $copies of $n copies"}
        ((bound >= 1)) || problem=${problem:-"group $g: no CPU counted copies in fanout_group_counters"}
        ((max - min <= bound)) || problem=${problem:-"group $g: round-robin split off by more than $bound: $min..$max"}
    done
    echo "problem:$problem"
}

sum_snmp_udp() {
    local field=$1 node total=0; shift
    for node in "$@"; do total=$((total + $(snmp_udp "$node" "$field"))); done
    echo "$total"
}

# mark_stack_counters SUB...: remembers the MoM's Udp InDatagrams and the SUBs' summed Udp InCsumErrors;
# stack_counter_growth then prints "mom_in csum": what the MoM's socket received since, and the checksum errors
# the subscribers' kernels found since.
mark_stack_counters() {
    STACK_SUBS=("$@")
    STACK_MOM_IN=$(snmp_udp mom InDatagrams)
    STACK_CSUM=$(sum_snmp_udp InCsumErrors "$@")
}
stack_counter_growth() {
    echo "$(($(snmp_udp mom InDatagrams) - STACK_MOM_IN)) $(($(sum_snmp_udp InCsumErrors "${STACK_SUBS[@]}") - STACK_CSUM))"
}

# udp_activity NODE: "InDatagrams unread" of NODE's namespace: its Udp (and Udp6) InDatagrams and how many of its
# UDP sockets hold datagrams not yet read (/proc/net/udp, udp6 rx_queue), in one read.
udp_activity() {
    local files=(/proc/net/snmp /proc/net/udp) file
    for file in /proc/net/snmp6 /proc/net/udp6; do [ -e "$file" ] && files+=("$file"); done  # IPv6 too, if any
    topo_exec "$1" awk '/^Udp:/ { if (n++) dgrams += $2 } $1 == "Udp6InDatagrams" { dgrams += $2 }
        FILENAME ~ /udp6?$/ && FNR > 1 && $5 !~ /:0+$/ { unread++ }
        END { print dgrams + 0, unread + 0 }' "${files[@]}"
}

# wait_delivered NODE...: waits until the last events have arrived: every tempos-sub has ended by itself (its
# --count reached), or the nodes' and the MoM's UDP sockets hold nothing unread and their InDatagrams stayed the
# same over 5 polls in a row. Polls every 0.1 s, at most 100 times.
wait_delivered() {
    local i p node state last="" steady=0 running
    for ((i = 0; i < 100; i++)); do
        running=0
        for p in "${SUB_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && running=1; done
        ((running)) || return 0
        state=""
        for node in mom "$@"; do state+="$(udp_activity "$node"),"; done
        if [ "$state" = "$last" ] && ! grep -q ' [1-9]' <<<"$state"; then
            ((++steady < 5)) || return 0
        else
            steady=0
        fi
        last=$state
        sleep 0.1
    done
    fail "the subscribers were still receiving after 100 polls ($state)"
}

# end_traffic: waits for the last events (wait_delivered on the marked subscribers), ends every tempos-sub
# (stop_subs) and sets mom_in and csum to stack_counter_growth's "mom_in csum".
end_traffic() {
    wait_delivered "${STACK_SUBS[@]}"
    stop_subs
    read -r mom_in csum <<<"$(stack_counter_growth)"
}

# topic_toml ID QOS [--mac] NODE... [--group NODE...]...: a [[topics]] table whose group is NODEs' addresses on
# the MoM's port (each --group starts another group: [[topics.groups]] tables), with --mac as inline tables that
# also give each MAC (the kernel path then needs no neighbour lookup); NODE/6 is NODE's IPv6 address. Written by
# `tempos-testkit mom-config`.
topic_toml() {
    local id=$1 qos=$2 with_mac=0 node endpoint group="" groups=()
    shift 2
    [ "${1:-}" = --mac ] && { with_mac=1; shift; }
    for node in "$@" --group; do
        if [ "$node" = --group ]; then
            [ -z "$group" ] || groups+=(--subscribers "$group")
            group=""
            continue
        fi
        endpoint=$(node_endpoint "$node")
        ((with_mac)) && endpoint+="@$(mac_of "${node%/6}")"
        group+="${group:+,}$endpoint"
    done
    "$BIN/tempos-testkit" mom-config topic --id "$id" --qos "$qos" "${groups[@]}"
}

# mom_config_header [XDP_MODE]: the [mom] and [[adapters]] part every scenario's Controller TOML starts with
# (xdp_mode: the argument, else $E2E_XDP_MODE; further KEY=VALUE arguments are adapter options, e.g.
# persist=true); scenarios append their [[topics]]. [mom] listen: the MoM's IPv4 address, or MOM_LISTEN when set
# ("[::]:9998").
mom_config_header() {
    local mode=${1:-$E2E_XDP_MODE} option options=()
    shift || true
    for option in "$@"; do options+=(--adapter-option "$option"); done
    "$BIN/tempos-testkit" mom-config header --listen "${MOM_LISTEN:-$TOPO_IP_mom:$MOM_PORT}" --interface "$TOPO_MOM_IF" \
        --metrics 127.0.0.1:9100 --xdp-mode "$mode" ${options[@]+"${options[@]}"}
}

# xdp_link_of PROG_ID: the id of the bpf_link (type xdp) that holds program PROG_ID (bpftool; links are global,
# not per namespace); empty when none does.
xdp_link_of() {
    bpftool -j link show | python3 -c '
import json, sys
print(next((str(l["id"]) for l in json.load(sys.stdin) if l.get("type") == "xdp" and l.get("prog_id") == int(sys.argv[1])), ""))' "$1"
}

# prog_map_id PROG_ID NAME: the id of the map called NAME that program PROG_ID uses (bpftool); empty when none.
prog_map_id() {
    local map
    for map in $(bpftool -j prog show id "$1" | python3 -c 'import json, sys; print(*json.load(sys.stdin).get("map_ids", []))'); do
        bpftool -j map show id "$map" | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["name"] != sys.argv[1])' "$2" &&
            { echo "$map"; return 0; }
    done
}

# best_effort_thread_nices: "CPU=NICE ..." of the kernel threads of the MoM's best-effort cpumap (docs/isolation.md:
# one per best-effort CPU, "cpumap/<cpu>/map:<id>"), by CPU; empty when the router has no such map or threads.
best_effort_thread_nices() {
    local map
    map=$(prog_map_id "$(xdp_prog_id)" be_cpumap)
    [ -n "$map" ] || return 0
    python3 -c '
import os, sys
found = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        name = open(f"/proc/{pid}/comm").read().strip()
        if name.startswith("cpumap/") and name.endswith("/map:" + sys.argv[1]):
            found[int(name.split("/")[1])] = os.getpriority(os.PRIO_PROCESS, int(pid))
    except OSError:
        pass  # gone in between
print(" ".join(f"{cpu}={nice}" for cpu, nice in sorted(found.items())))' "$map"
}

# prog_rodata_value PROG_ID NAME: the value of the global constant NAME in the .rodata map of program PROG_ID (read
# through its BTF with bpftool); empty when the program has no such constant.
prog_rodata_value() {
    local map
    for map in $(bpftool -j prog show id "$1" | python3 -c 'import json, sys; print(*json.load(sys.stdin).get("map_ids", []))'); do
        bpftool -j map show id "$map" | python3 -c 'import json, sys; sys.exit(not json.load(sys.stdin)["name"].endswith(".rodata"))' ||
            continue
        bpftool -j map dump id "$map" | python3 -c '
import json, sys
def find(v, name):
    if isinstance(v, dict):
        if name in v and not isinstance(v[name], (dict, list)):
            return v[name]
        v = list(v.values())
    if isinstance(v, list):
        for item in v:
            found = find(item, name)
            if found is not None:
                return found
    return None
found = find(json.load(sys.stdin), sys.argv[1])
print("" if found is None else found)' "$2"
        return 0
    done
}

# install_build PREFIX: `cmake --install` of the build into PREFIX (docs/install.md's layout), readable by the
# unprivileged users the unit scenarios run it as.
install_build() {
    chmod 0755 "$E2E_TMP"
    cmake --install "$BUILD_DIR" --prefix "$1" >"$E2E_TMP/install.log" 2>&1 ||
        fail "cmake --install failed: $(cat "$E2E_TMP/install.log")"
}

# unit_sandbox UNIT [UID]: sets UNIT_SANDBOX, a command prefix that runs a command as the systemd unit UNIT runs
# tempos-mom: as UID (default 65534, standing for its dynamic user) with exactly the unit's AmbientCapabilities
# (which must equal its CapabilityBoundingSet) and under its LimitNOFILE.
unit_sandbox() {
    local unit=$1 uid=${2:-65534} caps nofile setpriv_caps
    caps=$(sed -n 's/^AmbientCapabilities=//p' "$unit")
    [ -n "$caps" ] || fail "the unit grants no capabilities"
    [ "$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")" = "$caps" ] || fail "bounding set and ambient set differ"
    grep -qx "DynamicUser=yes" "$unit" || fail "the unit does not run as a dynamic user"
    nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
    [[ $nofile =~ ^[0-9]+$ ]] || fail "the unit sets no numeric LimitNOFILE"
    setpriv_caps=$(tr 'A-Z' 'a-z' <<<"$caps" | sed 's/cap_/+/g; s/ /,/g')
    UNIT_SANDBOX=(prlimit --nofile="$nofile:$nofile" -- setpriv --reuid="$uid" --regid="$uid" --clear-groups
        --inh-caps=-all,"$setpriv_caps" --ambient-caps=-all,"$setpriv_caps" --bounding-set=-all,"$setpriv_caps" --)
}
