#!/usr/bin/env bash
# The one-command demo (Debian 12, as root): installs what is missing, builds, creates a publisher, a MoM and
# three subscribers in network namespaces, runs tempos-mom with config/demo.toml (a strict topic routed by XDP
# inside the kernel, a best-effort topic served by the MoM's socket path), publishes to both for DURATION
# seconds while printing a live per-topic table, prints a summary and tears everything down (also on Ctrl-C).
#   scripts/demo.sh            RATE=2000 DURATION=10 by default (events/s per topic, seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-2000}
DURATION=${DURATION:-10}
if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (it creates network namespaces and attaches an XDP program)" >&2
    exit 1
fi

. scripts/lib/packages.sh
tempos_install_packages
build_dir=${TEMPOS_BUILD_DIR:-build}
echo "building (cmake, $build_dir) ..."
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=(tempos-mom xdp_adapter tempos-pub tempos-sub)
# scripts/lib/topology.sh builds the namespaces with the test kit's CLI.
targets+=(tempos-testkit)
cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}" >/dev/null
BIN=$(cd "$build_dir" && pwd)/bin
CONFIG=$PWD/config/demo.toml
PORT=9998

. scripts/lib/topology.sh
work=$(mktemp -d /tmp/tempos-demo.XXXXXX)
pids=()
cleanup() {
    trap - EXIT INT TERM HUP
    trap '' PIPE
    # Output may be gone (a closed pipe, a closed terminal): the teardown must not depend on it.
    { echo; echo "== tearing down: stopping the processes, deleting the namespaces ${TOPO_ID:-}-*"; } 2>/dev/null || true
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    topo_destroy
    rm -rf "$work"
}
topo_create one-legged 3
trap cleanup EXIT
trap 'echo; echo "interrupted"; cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 141' PIPE
# config/demo.toml is written for the addresses topology.sh gives.
grep -q "listen = \"$TOPO_IP_mom:$PORT\"" "$CONFIG" && grep -q "\"$TOPO_IP_sub3:$PORT\"" "$CONFIG" ||
    { echo "demo.sh: $CONFIG does not match the topology's addresses" >&2; exit 1; }

cat <<EOF

== tempos-xdp demo: pub/sub event delivery with a kernel fast path
   Five network namespaces on one virtual L2 segment (namespaces ${TOPO_ID}-*):
     pub  $TOPO_IP_pub   two publishers (tempos-pub), $RATE events/s each, for $DURATION s
     mom  $TOPO_IP_mom   tempos-mom with the XDP adapter ($CONFIG), port $PORT
     sub1..sub3 $TOPO_IP_sub1..13  one tempos-sub each
   An event is a UDP datagram to the MoM whose first payload byte is its topic; each event goes to one
   subscriber of its topic, in turn (round-robin).
     topic 1, strict:      an XDP program on the MoM's interface rewrites the headers and sends the datagram
                           straight back out to the subscriber: the MoM process never sees it (kernel path).
     topic 2, best-effort: the MoM process receives it on its UDP socket and sends it on (socket path).
   config/demo.toml gives no MAC addresses: the adapter resolves them from the kernel's neighbour table
   (asking the kernel to ARP when needed) and writes them into the XDP routes; no sysctl is needed. Until a
   subscriber's MAC is known, its strict events take the socket path, so none is lost.

EOF
# Its own session: Ctrl-C reaches the demo, which then stops tempos-mom itself (SIGTERM) after the table.
ip netns exec "$TOPO_NS_mom" setsid "$BIN/tempos-mom" --config "$CONFIG" >"$work/mom.log" 2>&1 &
mom_pid=$!
pids+=("$mom_pid")
for _ in $(seq 100); do
    grep -qs "tempos-mom running" "$work/mom.log" && break
    kill -0 "$mom_pid" 2>/dev/null || { echo "tempos-mom failed to start:" >&2; cat "$work/mom.log" >&2; exit 1; }
    sleep 0.1
done
grep -qs "tempos-mom running" "$work/mom.log" || { echo "tempos-mom did not start within 10 s" >&2; exit 1; }
sed -n -e 's/^.*\] \[info\] /   tempos-mom: /p' "$work/mom.log" | grep -E "attached|running"
echo "   # ip -n ${TOPO_ID}-mom link show $TOPO_MOM_IF   ->   $(topo_exec mom ip link show "$TOPO_MOM_IF" |
    grep -o 'prog/xdp id [0-9]*')"

for s in sub1 sub2 sub3; do
    ns_var="TOPO_NS_$s"; ip_var="TOPO_IP_$s"
    ip netns exec "${!ns_var}" "$BIN/tempos-sub" --listen "${!ip_var}:$PORT" --timeout $((DURATION + 20)) \
        --json --report-every 1 --ready-file "$work/$s.ready" >"$work/$s.json" &
    pids+=($!)
done
for _ in $(seq 50); do [ -f "$work/sub1.ready" ] && [ -f "$work/sub2.ready" ] && [ -f "$work/sub3.ready" ] && break; sleep 0.1; done

count=$((RATE * DURATION))
# Udp InDatagrams and RcvbufErrors in the MoM's namespace: what its socket took, what overflowed its buffer.
mom_udp() { topo_exec mom awk '/^Udp:/ { if (n++) print $2, $6 }' /proc/net/snmp; }
read -r mom_in_before mom_rcvbuf_before <<<"$(mom_udp)"
echo
echo "== publishing $count events to each topic at $RATE events/s (one row per second)"
for topic in 1 2; do
    ip netns exec "$TOPO_NS_pub" "$BIN/tempos-pub" --to "$TOPO_IP_mom:$PORT" --topic $topic --count "$count" \
        --rate "$RATE" --max-seconds $((DURATION + 10)) --json >"$work/pub$topic.json" &
    pub_pids+=($!)
    pids+=($!)
done

# The live table: /metrics of tempos-mom (kernel vs socket path, per topic) and the subscribers' interim
# reports (events received and latency p99 over the last second). Runs inside the mom namespace to reach
# the metrics endpoint on its loopback; stops when the publishers are done (bounded by DURATION + 10 s).
DEMO_MAX_SECONDS=$((DURATION + 10)) topo_exec mom python3 - "$work" "${pub_pids[@]}" <<'PY'
import http.client, json, os, sys, time

work, pub_pids = sys.argv[1], [int(p) for p in sys.argv[2:]]
TOPICS = {"1": "strict", "2": "best-effort"}

def metrics():
    conn = http.client.HTTPConnection("127.0.0.1", 9100, timeout=2)
    conn.request("GET", "/metrics")
    values = {}
    for line in conn.getresponse().read().decode().splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        name, rest = line.split("{", 1)
        labels, value = rest.rsplit("} ", 1)
        fields = dict(kv.split("=", 1) for kv in labels.split(","))
        topic = fields.get("topic", "").strip('"')
        values[(name, topic)] = values.get((name, topic), 0) + float(value)
    return values

def latest_interim(sub):
    try:
        lines = [l for l in open(f"{work}/{sub}.json") if '"interim"' in l]
    except OSError:
        return None
    return json.loads(lines[-1]) if lines else None

def alive(pid):
    return os.path.exists(f"/proc/{pid}")

def table():
    print("        | " + " | ".join(f"topic {t} ({q})".ljust(48) for t, q in TOPICS.items()))
    print("   time | " + " | ".join(f"{'kernel/s':>9} {'socket/s':>9} {'received/s':>10} {'p50 µs':>8} {'p99 µs':>8}"
                                  for _ in TOPICS))
    before, start, seen = metrics(), time.monotonic(), {}
    deadline = start + float(os.environ.get("DEMO_MAX_SECONDS", "30"))
    tick = 0
    while time.monotonic() < deadline:
        tick += 1
        time.sleep(max(0.0, start + tick - time.monotonic()))
        now = metrics()
        cells, moved = [], 0
        for topic in TOPICS:
            delta = lambda name: now.get((name, topic), 0) - before.get((name, topic), 0)
            kernel, socket = delta("tempos_kernel_packets_total"), delta("tempos_adapter_sent_total")
            received, p50, p99 = 0, 0.0, 0.0
            for sub in ("sub1", "sub2", "sub3"):
                report = latest_interim(sub)
                if not report or seen.get((sub, topic)) == report["seconds"]:
                    continue
                t = report["topics"].get(topic)
                if t:
                    received += t["interval_received"]
                    if t["interval_received"]:
                        p50 = max(p50, t["interval_p50_us"])
                        p99 = max(p99, t["interval_p99_us"])
                seen[(sub, topic)] = report["seconds"]
            moved += kernel + socket + received
            cells.append(f"{kernel:9.0f} {socket:9.0f} {received:10d} {p50:8.0f} {p99:8.0f}")
        before = now
        print(f"{tick:5d} s | " + " | ".join(cells), flush=True)
        if not any(alive(p) for p in pub_pids) and moved == 0:
            break

try:
    table()
except KeyboardInterrupt:
    sys.exit(130)
except OSError as error:
    sys.exit(f"tempos-mom's /metrics stopped answering: {error}")
print("   (kernel/s, socket/s: events the XDP program routed / the MoM process sent, from tempos-mom's /metrics;")
print("    received/s, p50, p99: what the three subscribers got in their last 1-s report; one-way latency")
print("    publisher -> subscriber, the worst of the three. On a busy machine p99 shows scheduling delays.)")
PY

wait "${pub_pids[@]}" || true
sleep 0.5
for p in "${pids[@]:1:3}"; do kill -INT "$p" 2>/dev/null || true; done
wait "${pids[@]:1:3}" || true
read -r mom_in_after mom_rcvbuf_after <<<"$(mom_udp)"
metrics=$(topo_exec mom bash -c 'exec 3<>/dev/tcp/127.0.0.1/9100; printf "GET /metrics HTTP/1.0\r\n\r\n" >&3; cat <&3')
echo "$metrics" >"$work/metrics.txt"
kill -TERM "$mom_pid" && wait "$mom_pid" || true

echo
echo "== summary"
python3 - "$work" $((mom_in_after - mom_in_before)) $((mom_rcvbuf_after - mom_rcvbuf_before)) <<'PY'
import json, re, sys, textwrap

work, mom_in, mom_rcvbuf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
metrics = {}
for line in open(f"{work}/metrics.txt"):
    m = re.match(r'^(\w+)\{.*topic="(\d+)".*\} (\d+)', line)
    if m:
        metrics[(m[1], m[2])] = metrics.get((m[1], m[2]), 0) + int(m[3])
subs = {s: json.loads([l for l in open(f"{work}/{s}.json") if l.strip()][-1]) for s in ("sub1", "sub2", "sub3")}
sums, sents = {}, {}
for topic, qos in (("1", "strict"), ("2", "best-effort")):
    sent = sents[topic] = json.load(open(f"{work}/pub{topic}.json"))["sent"]
    per_sub = {s: r["topics"].get(topic, {}) for s, r in subs.items()}
    delivered = sums[topic] = sum(t.get("unique", 0) for t in per_sub.values())
    kernel = metrics.get(("tempos_kernel_packets_total", topic), 0)
    socket = metrics.get(("tempos_adapter_sent_total", topic), 0)
    p50 = max(t.get("p50_us", 0) for t in per_sub.values())
    p99 = max(t.get("p99_us", 0) for t in per_sub.values())
    split = " / ".join(str(t.get("unique", 0)) for t in per_sub.values())
    print(f"   topic {topic} ({qos}): sent {sent}, received {delivered} (lost {sent - delivered}; sub1 / sub2 / sub3 = {split})")
    print(f"      through the kernel (XDP) {kernel}, through the MoM's socket path {socket};"
          f" one-way latency p50 {p50:.0f} µs, p99 {p99:.0f} µs (worst subscriber)")
strict_socket = metrics.get(("tempos_adapter_sent_total", "1"), 0)
print(textwrap.fill(f"The MoM process's UDP socket received {mom_in} datagrams (Udp InDatagrams in its namespace):"
      " the best-effort events" + (f", and {strict_socket} strict events that arrived before the subscribers' MAC"
                               " addresses were known." if strict_socket else
                               "; every strict event found the subscribers' MACs known (the best-effort traffic"
                               " had resolved them)."), width=108, initial_indent="   ", subsequent_indent="   "))
print("   Strict events routed by XDP never reach the MoM process: no copy to user space, no thread to wake.")
lost = [t for t in ("1", "2") if sums[t] < sents[t]]
if lost:
    queue_drops = sum(metrics.get(("tempos_events_dropped_total", t), 0) for t in ("1", "2"))
    print(textwrap.fill(f"Where events were lost: the MoM's socket buffer overflowed {mom_rcvbuf} times (Udp RcvbufErrors),"
          f" its queues dropped {queue_drops} (tempos_events_dropped_total); the rest were dropped on the way by the"
          " kernel (e.g. a full backlog queue while this machine was busy)." + ("" if "1" in lost else
          " Strict events through XDP do not wait for the MoM process: a stall of the MoM did not cost them."), width=108, initial_indent="   ",
          subsequent_indent="   "))
PY
