#!/usr/bin/env bash
# Restart and upgrade under load (issue 14, docs/restart.md): N strict events at RATE/s to sub1; once a quarter
# has arrived tempos-mom is stopped (STOP=term: SIGTERM; STOP=kill: SIGKILL, as a crash) and a new tempos-mom is
# started at once with the same configuration. UPGRADE=1: the new one loads the test-only build of the plugin in
# $UPGRADE_PLUGIN_DIR (tests/e2e/upgrade: its router object rebuilt with TEMPOS_UPGRADE_BUILD_TAG in .rodata).
# PERSIST=1: the pinned router keeps routing while no tempos-mom runs and the new one swaps its program into the
# same link: every event is delivered, none twice, the program id changes in the same link (after an upgrade the
# new program holds the build tag), and no kernel counter of /metrics goes back across the restart.
# PERSIST=0: the router leaves with the process; the loss is printed and must equal N - delivered.
# UNIT=1 (with PERSIST=1): the installed build as the systemd unit runs it with its persist drop-in
# (share/tempos/systemd/persist.conf): each tempos-mom runs under the unit's sandbox as an unprivileged uid — the
# second as another uid, as a dynamic user's may change — after the drop-in's root step (ExecStartPre=+); without
# that step the sandboxed tempos-mom must refuse to start, saying what to do.
# SOCKETS=1: tempos-mom's ingress sockets are held across the restart as tempos-mom.socket holds them
# (hold_sockets; socket activation), and best-effort events (topic 2, N/10 at RATE/10, to the same subscriber) take
# the socket path meanwhile: none reaches a closed port, and each one lost is counted by the new tempos-mom.
. "$(dirname "$0")/lib.sh"
RATE=${RATE:-10000}
N=${N:-20000}
PERSIST=${PERSIST:-1}
STOP=${STOP:-term}
UPGRADE=${UPGRADE:-0}
UNIT=${UNIT:-0}
SOCKETS=${SOCKETS:-0}
N_BE=0
((SOCKETS)) && N_BE=$((N / 10))
case $STOP in term | kill) ;; *) echo "STOP is term or kill, not '$STOP'" >&2; exit 1 ;; esac
if ((UPGRADE)); then
    [ -f "${UPGRADE_PLUGIN_DIR:-}/libxdp_adapter.so" ] || { echo "UPGRADE=1 needs UPGRADE_PLUGIN_DIR (the test-only plugin)" >&2; exit 1; }
    [ -n "${UPGRADE_BUILD_TAG:-}" ] || { echo "UPGRADE=1 needs UPGRADE_BUILD_TAG" >&2; exit 1; }
fi
((UNIT && (UPGRADE || !PERSIST))) && { echo "UNIT=1 runs with PERSIST=1 and without UPGRADE" >&2; exit 1; }
setup one-legged 1
persist=false
((PERSIST)) && persist=true
{ mom_config_header "$E2E_XDP_MODE" "persist=$persist"; topic_toml 1 strict --mac sub1; topic_toml 2 best-effort sub1; } \
    >"$E2E_TMP/mom.toml"
# The pins are released at the end, pass or fail. nsenter --net, not ip netns exec: that one remounts /sys, and
# with it hides the bpffs the MoM pinned in.
release_pins() { nsenter --net="/run/netns/$TOPO_NS_mom" "$BIN/tempos-mom" --release-pins "$TOPO_MOM_IF" >/dev/null 2>&1 || true; }
trap 'release_pins; e2e_cleanup' EXIT
first_sandbox=()
if ((UNIT)); then
    PREFIX=$E2E_TMP/prefix
    install_build "$PREFIX"
    MOM_BIN=$PREFIX/bin/tempos-mom
    unit=$PREFIX/lib/systemd/system/tempos-mom.service
    dropin=$PREFIX/share/tempos/systemd/persist.conf
    [ -f "$dropin" ] || fail "the install has no share/tempos/systemd/persist.conf"
    user=$(sed -n 's/^User=//p' "$dropin")
    prepare=$(sed -n 's/^ExecStartPre=+//p' "$dropin")
    [ "$prepare" = "$MOM_BIN --prepare-pins $user" ] && [ -n "$user" ] ||
        fail "the drop-in's root step is not '$MOM_BIN --prepare-pins USER' for its User=: '$prepare' ('$user')"
    # systemd-analyze verify reads the drop-in from the .d directory beside the unit it is given.
    mkdir -p "$E2E_TMP/units/tempos-mom.service.d"
    cp "$unit" "$E2E_TMP/units/" && cp "$dropin" "$E2E_TMP/units/tempos-mom.service.d/"
    verify=$(systemd-analyze verify "$E2E_TMP/units/tempos-mom.service" 2>&1) || fail "systemd-analyze verify: $verify"
    [ -z "$verify" ] || fail "systemd-analyze verify remarks: $verify"
    # The root step changes the host's bpffs: its mode is put back at the end.
    bpffs_mode=$(stat -c %a /sys/fs/bpf)
    trap 'release_pins; chmod "$bpffs_mode" /sys/fs/bpf; e2e_cleanup' EXIT
    # prepare_for UID: the drop-in's root step for a dynamic user whose uid is UID; sets UNIT_SANDBOX for UID.
    prepare_for() {
        local step
        read -r -a step <<<"$prepare"
        step[-1]=$1  # the uid stands for the user's name
        "${step[@]}" >"$E2E_TMP/prepare.$1.log" 2>&1 || fail "$prepare (as $1) failed: $(cat "$E2E_TMP/prepare.$1.log")"
        unit_sandbox "$unit" "$1"
    }
    unit_sandbox "$unit" 65534
    refused=0
    timeout 20 nsenter --net="/run/netns/$TOPO_NS_mom" "${UNIT_SANDBOX[@]}" "$MOM_BIN" --config "$E2E_TMP/mom.toml" \
        >"$E2E_TMP/unprepared.log" 2>&1 || refused=$?
    ((refused != 0 && refused != 124)) && grep -q -- "--prepare-pins" "$E2E_TMP/unprepared.log" ||
        fail "without the drop-in's step the sandboxed tempos-mom did not refuse saying so (status $refused): $(tail -3 "$E2E_TMP/unprepared.log")"
    echo "without the root step: $(grep -m1 -- "--prepare-pins" "$E2E_TMP/unprepared.log")"
    prepare_for 65534
    first_sandbox=("${UNIT_SANDBOX[@]}")
fi
((SOCKETS)) && hold_sockets
start_mom "$E2E_TMP/mom.toml" "${first_sandbox[@]}"
first_prog=$(xdp_prog_id)
first_link=$(xdp_link_of "$first_prog")
start_sub sub1 $((N + N_BE)) 40

topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 1 --count "$N" --rate "$RATE" \
    --max-seconds 60 --json >"$E2E_TMP/pub.json" &
pub=$!
pub_be=
if ((N_BE)); then
    topo_exec pub taskset -c 1 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 2 --count "$N_BE" \
        --rate $((RATE / 10)) --max-seconds 60 --json >"$E2E_TMP/pub-be.json" &
    pub_be=$!
fi
flowing_from=$(snmp_udp sub1 InDatagrams)
for ((i = 0; i < 200; i++)); do
    (($(snmp_udp sub1 InDatagrams) - flowing_from >= N / 4)) && break
    sleep 0.02
done
metrics_page >"$E2E_TMP/metrics.before"
noports_before=$(snmp_udp mom NoPorts)
kernel_before=$(metric_sum 'tempos_kernel_packets_total\{.*topic="1"' <"$E2E_TMP/metrics.before")
stop_at=$(mono_ns)
if [ "$STOP" = kill ]; then
    kill -KILL "$MOM_PID"
    status=0
    wait "$MOM_RUNNER_PID" || status=$?
    ((status == 128 + 9)) || fail "tempos-mom's runner exited with status $status after SIGKILL, not 137"
else
    stop_mom
fi
stopped_at=$(mono_ns)
during_stop=$(xdp_prog_id)
((UPGRADE)) && MOM_PLUGIN_DIR=$UPGRADE_PLUGIN_DIR
second_sandbox=()
if ((UNIT)); then
    prepare_for 65533
    second_sandbox=("${UNIT_SANDBOX[@]}")
fi
start_mom "$E2E_TMP/mom.toml" "${second_sandbox[@]}"
started_at=$(mono_ns)
metrics_page >"$E2E_TMP/metrics.after"
kernel_after_start=$(metric_sum 'tempos_kernel_packets_total\{.*topic="1"' <"$E2E_TMP/metrics.after")
second_prog=$(xdp_prog_id)
noports_gap=$(($(snmp_udp mom NoPorts) - noports_before))
second_link=$(xdp_link_of "$second_prog")
wait "$pub" || fail "tempos-pub failed"
[ -z "$pub_be" ] || wait "$pub_be" || fail "tempos-pub (best-effort) failed"
wait_delivered sub1
stop_subs
kernel_end=$(metric 'tempos_kernel_packets_total\{.*topic="1"')
passed_end=$(metric 'tempos_kernel_passed_total\{.*topic="1"')
be_socket_drops=$(metric '^tempos_ingress_socket_drops_total')
be_queue_dropped=$(metric 'tempos_events_dropped_total\{.*topic="2"')
be_send_errors=$(metric 'tempos_send_errors_total\{.*topic="2"')
be_kernel_dropped=$(($(metric 'tempos_kernel_dropped_total\{.*topic="2"') + $(metric 'tempos_best_effort_unarrived\{.*topic="2"')))
be_counted=$((be_socket_drops + be_queue_dropped + be_send_errors + be_kernel_dropped))
socket_end=$(metric 'tempos_adapter_sent_total\{.*topic="1"')
tag_before=$(prog_rodata_value "$first_prog" tempos_upgrade_build_tag)
tag_after=$(prog_rodata_value "$second_prog" tempos_upgrade_build_tag)
stop_mom
monotonic=0
counters=$(counters_not_reset "$E2E_TMP/metrics.before" "$E2E_TMP/metrics.after" '^tempos_kernel_') || monotonic=$?

read -r total _ _ dups corrupt <<<"$(topic_totals 1 sub1)"
read -r be_total _ _ be_dups be_corrupt <<<"$(topic_totals 2 sub1)"
max_latency_us=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["topics"]["1"]["max_us"])' \
    "$E2E_TMP/sub1.json" 2>/dev/null || echo "?")
sent_rate=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["rate"]))' \
    "$E2E_TMP/pub.json" 2>/dev/null || echo "?")
lost=$((N - total))
echo "persist=$persist stop=SIG${STOP^^} upgrade=$UPGRADE rate=$RATE/s (publisher reached $sent_rate);" \
     "sent=$N delivered=$total lost=$lost dups=$dups corrupt=$corrupt;" \
     "stop took $(((stopped_at - stop_at) / 1000000)) ms, start $(((started_at - stopped_at) / 1000000)) ms;" \
     "program ids: before $first_prog (link $first_link), while stopped '${during_stop}', after $second_prog" \
     "(link $second_link); build tag in .rodata: before '${tag_before}', after '${tag_after}';" \
     "kernel counter in /metrics: $kernel_before before the stop, $kernel_after_start after the start, $kernel_end at" \
     "the end (socket path sent $socket_end); kernel counters across the restart: $counters;" \
     "longest one-way latency ${max_latency_us} us; the MoM namespace's Udp NoPorts grew by $noports_gap" \
     "from the stop to the start; best-effort (sockets held: $SOCKETS): sent=$N_BE delivered=$be_total" \
     "lost=$((N_BE - be_total)) dups=$be_dups; the new tempos-mom counts $be_socket_drops dropped by its ingress" \
     "sockets, $be_queue_dropped by its full best-effort queue, $be_send_errors send errors, $be_kernel_dropped of" \
     "topic 2 in the kernel"
[ $((dups + corrupt + be_dups + be_corrupt)) -eq 0 ] || fail "duplicates or changed payloads"
if ((SOCKETS)); then
    # Nothing refused while no tempos-mom ran; what the new one could not pass on (the events the sockets kept arrive
    # as one burst) it counts.
    ((noports_gap == 0)) || fail "$noports_gap datagrams reached a closed port with the sockets held"
    ((N_BE - be_total == be_counted)) ||
        fail "lost $((N_BE - be_total)) best-effort events across the restart, the new tempos-mom counts $be_counted"
    grep -q "both sockets from the service manager" "$E2E_TMP/mom.log" || fail "tempos-mom did not take the held sockets"
fi
if ((PERSIST)); then
    [ "$during_stop" = "$first_prog" ] || fail "the router left the interface while tempos-mom was stopped"
    [ -n "$second_prog" ] && [ "$second_prog" != "$first_prog" ] || fail "the new program was not swapped in"
    [ -n "$first_link" ] && [ "$second_link" = "$first_link" ] || fail "the program is not in the same link"
    ((monotonic == 0)) || fail "a kernel counter went back across the restart: $counters"
    ((kernel_after_start >= kernel_before)) || fail "the kernel counter reset across the restart"
    ((kernel_end + socket_end >= N)) ||
        fail "the counters account for $((kernel_end + socket_end)) of $N events (the kernel passed $passed_end up)"
    [ "$total" -eq "$N" ] || fail "lost $lost strict events across the restart with persist"
else
    [ -z "$during_stop" ] || fail "without persist the router stayed attached after the stop"
    ((lost >= 0)) || fail "more events delivered than sent"
fi
if ((UPGRADE)); then
    [ -z "$tag_before" ] || fail "the first router already had the upgrade's build tag"
    [ -n "$tag_after" ] && (($(printf '%d' "$tag_after") == $(printf '%d' "$UPGRADE_BUILD_TAG"))) ||
        fail "the attached program after the upgrade does not hold the build tag $UPGRADE_BUILD_TAG (has '$tag_after')"
fi
echo PASS
