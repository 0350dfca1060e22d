#!/usr/bin/env bash
# Restart under load (issue 14, docs/restart.md): N strict events at RATE/s to sub1, SIGTERM of tempos-mom once a
# quarter has arrived, and a new tempos-mom started at once with the same configuration. PERSIST=1: the pinned
# router keeps routing while no tempos-mom runs and the new one swaps its program into the same link: every event
# is delivered, none twice, and the kernel counter in /metrics goes on from where it was (no reset).
# PERSIST=0: the router leaves with the process; the loss is printed and must equal N - delivered.
. "$(dirname "$0")/lib.sh"
RATE=${RATE:-10000}
N=${N:-20000}
PERSIST=${PERSIST:-1}
setup one-legged 1
persist=false
((PERSIST)) && persist=true
{ mom_config_header "$E2E_XDP_MODE" "persist=$persist"; topic_toml 1 strict --mac sub1; } >"$E2E_TMP/mom.toml"
# The pins are released at the end, pass or fail. nsenter --net, not ip netns exec: that one remounts /sys, and
# with it hides the bpffs the MoM pinned in.
release_pins() { nsenter --net="/run/netns/$TOPO_NS_mom" "$BIN/tempos-mom" --release-pins "$TOPO_MOM_IF" >/dev/null 2>&1 || true; }
trap 'release_pins; e2e_cleanup' EXIT
start_mom "$E2E_TMP/mom.toml"
first_prog=$(xdp_prog_id)
start_sub sub1 "$N" 40

topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 1 --count "$N" --rate "$RATE" \
    --max-seconds 60 --json >"$E2E_TMP/pub.json" &
pub=$!
flowing_from=$(snmp_udp sub1 InDatagrams)
for ((i = 0; i < 200; i++)); do
    (($(snmp_udp sub1 InDatagrams) - flowing_from >= N / 4)) && break
    sleep 0.02
done
kernel_before=$(metric 'tempos_kernel_packets_total\{.*topic="1"')
stop_at=$(mono_ns)
stop_mom
stopped_at=$(mono_ns)
during_stop=$(xdp_prog_id)
start_mom "$E2E_TMP/mom.toml"
started_at=$(mono_ns)
kernel_after_start=$(metric 'tempos_kernel_packets_total\{.*topic="1"')
second_prog=$(xdp_prog_id)
wait "$pub" || fail "tempos-pub failed"
wait_delivered sub1
stop_subs
kernel_end=$(metric 'tempos_kernel_packets_total\{.*topic="1"')
socket_end=$(metric 'tempos_adapter_sent_total\{.*topic="1"')
stop_mom

read -r total _ _ dups corrupt <<<"$(topic_totals 1 sub1)"
max_latency_us=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["topics"]["1"]["max_us"])' \
    "$E2E_TMP/sub1.json" 2>/dev/null || echo "?")
lost=$((N - total))
echo "persist=$persist sent=$N delivered=$total lost=$lost dups=$dups corrupt=$corrupt;" \
     "stop took $(((stopped_at - stop_at) / 1000000)) ms, start $(((started_at - stopped_at) / 1000000)) ms;" \
     "program ids: before $first_prog, while stopped '${during_stop}', after $second_prog;" \
     "kernel counter in /metrics: $kernel_before before SIGTERM, $kernel_after_start after the start, $kernel_end at" \
     "the end (socket path sent $socket_end); longest one-way latency ${max_latency_us} us"
[ $((dups + corrupt)) -eq 0 ] || fail "duplicates or changed payloads"
if ((PERSIST)); then
    [ "$during_stop" = "$first_prog" ] || fail "the router left the interface while tempos-mom was stopped"
    [ -n "$second_prog" ] && [ "$second_prog" != "$first_prog" ] || fail "the new program was not swapped in"
    ((kernel_after_start >= kernel_before)) || fail "the kernel counter reset across the restart"
    ((kernel_end + socket_end >= N)) || fail "the counters account for $((kernel_end + socket_end)) of $N events"
    [ "$total" -eq "$N" ] || fail "lost $lost strict events across the restart with persist"
else
    [ -z "$during_stop" ] || fail "without persist the router stayed attached after the stop"
    ((lost >= 0)) || fail "more events delivered than sent"
fi
echo PASS
