#!/usr/bin/env bash
# The installed product as the systemd unit runs it (docs/install.md): `cmake --install` into a temporary prefix
# gives the documented layout; the unit is written for that prefix and passes `systemd-analyze verify` without a
# single remark; the installed tempos-mom finds the installed plugin (its default plugin directory) and accepts
# the installed example config; then, in the test network, it runs as an unprivileged user with exactly the
# capabilities the unit grants (read from the unit): native XDP delivers every strict event, the strict
# dispatcher gets SCHED_FIFO, and SIGTERM ends it with status 0 and detaches the program. The unit's sandbox is
# checked against what tempos-mom really does: it runs under the unit's LimitNOFILE; its peak memory (resident set
# plus the BPF maps it created, which the kernel charges to its cgroup) stays under MemoryMax; and traced
# through a start, a best-effort delivery, a reload, a scrape and a stop, every system call it makes is allowed by
# SystemCallFilter (systemd would kill it on any other) and every socket it opens by RestrictAddressFamilies.
. "$(dirname "$0")/lib.sh"
E2E_XDP_MODE=native  # whatever XDP_MODE says: the unit's capabilities are checked against native XDP
setup one-legged 2 --peer-pass  # first: its trap removes $E2E_TMP, the installed tree with it, whatever happens
N=1000

# peak_memory PID: "VmHWM_KiB BPF_MAP_BYTES" of a process.
peak_memory() {
    python3 - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
hwm = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM:"))
maps, seen = 0, set()
for fd in os.listdir(f"/proc/{pid}/fdinfo"):
    try:
        info = dict(l.split(":", 1) for l in open(f"/proc/{pid}/fdinfo/{fd}") if ":" in l)
    except OSError:
        continue
    if "map_id" in info and info["map_id"].strip() not in seen:
        seen.add(info["map_id"].strip())
        maps += int(info.get("memlock", "0").strip())
print(hwm, maps)
PY
}

# traced_calls TRACE BINARY: two lines, the system calls and the socket families the traced BINARY used.
traced_calls() {
    python3 - "$1" "$2" <<'PY'
import re, sys
trace, binary = sys.argv[1], sys.argv[2]
lines = open(trace).read().splitlines()
# The first process runs prlimit and setpriv before it execs tempos-mom: only what follows that execve counts;
# the threads it starts later are tempos-mom's.
start = next(i for i, l in enumerate(lines) if re.match(r"\d+ +execve\(\"" + re.escape(binary) + r"\"", l)) + 1
names, families = set(), set()
for line in lines[start:]:
    m = re.match(r"\d+ +([a-z0-9_]+)\((.*)", line)
    if not m:
        continue  # "<... resumed>", "+++ exited", signals
    names.add(m.group(1))
    if m.group(1) == "socket":
        families.add(m.group(2).split(",")[0])
print(" ".join(sorted(names)))
print(" ".join(sorted(families)))
PY
}

PREFIX=$E2E_TMP/prefix
UNIT=$PREFIX/lib/systemd/system/tempos-mom.service
install_build "$PREFIX"
for file in bin/tempos-mom bin/tempos-pub bin/tempos-sub bin/tempos-inspect lib/libxdp_adapter.so share/tempos/config/tempos-mom.toml \
    share/doc/tempos/install.md share/tempos/prometheus/prometheus.yml share/tempos/prometheus/tempos-alerts.yml \
    share/tempos/grafana/tempos-dashboard.json share/doc/tempos/monitoring.md lib/systemd/system/tempos-mom.service \
    lib/systemd/system/tempos-mom.socket share/tempos/systemd/persist.conf; do
    [ -e "$PREFIX/$file" ] || fail "the install has no $file"
done
grep -qx "ExecStart=$PREFIX/bin/tempos-mom --config /etc/tempos/tempos-mom.toml" "$UNIT" ||
    fail "the unit does not start the installed binary: $(grep '^ExecStart=' "$UNIT")"
verify=$(systemd-analyze verify "$UNIT" "${UNIT%.service}.socket" 2>&1) || fail "systemd-analyze verify failed: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify remarks: $verify"
# The socket unit's address is the installed example config's [mom] listen (tempos-mom refuses any other).
example_listen=$(sed -n 's/^listen *= *"\(.*\)"/\1/p' "$PREFIX/share/tempos/config/tempos-mom.toml")
[ "$(grep -c "^ListenDatagram=$example_listen\$" "${UNIT%.service}.socket")" = 2 ] ||
    fail "tempos-mom.socket does not listen twice on the example config's $example_listen"
"$PREFIX/bin/tempos-mom" --config "$PREFIX/share/tempos/config/tempos-mom.toml" --check ||
    fail "the installed example config does not pass --check with the installed plugin"

caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
nofile=$(sed -n 's/^LimitNOFILE=//p' "$UNIT")
memory_max=$(sed -n 's/^MemoryMax=//p' "$UNIT")
[[ $memory_max =~ ^[0-9]+M$ ]] || fail "the unit sets no MemoryMax in M"
unit_sandbox "$UNIT"
echo "unit: $caps -> ${UNIT_SANDBOX[*]}"

{ mom_config_header; topic_toml 1 strict --mac sub1 sub2; } >"$E2E_TMP/mom.toml"
MOM_BIN=$PREFIX/bin/tempos-mom start_mom "$E2E_TMP/mom.toml" "${UNIT_SANDBOX[@]}"
[ "$(awk '/^Max open files/ { print $4 }' "/proc/$MOM_PID/limits")" = "$nofile" ] || fail "LimitNOFILE not applied"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$MOM_PID/status")" = 65534 ] || fail "tempos-mom does not run as uid 65534"
grep -q "XDP router attached to $TOPO_MOM_IF .* in native mode" "$E2E_TMP/mom.log" || fail "native XDP not attached"
grep -q "sq dispatcher runs under SCHED_FIFO" "$E2E_TMP/mom.log" || fail "the strict dispatcher did not get SCHED_FIFO"
grep -q "libxdp_adapter.so" <<<"$(grep "loaded from $PREFIX/lib/" "$E2E_TMP/mom.log")" ||
    fail "the adapter was not loaded from the installed lib/"

# Each subscriber waits for all N, not its half: the router's round-robin cursor is per CPU, and under load a
# veth's receive work may run on either CPU, so a split of 501/499 is correct routing (a subscriber stopping at
# N/2 then leaves one event unread: the likely cause of 999 of 1000, min 499, in a CI run).
start_sub sub1 "$N" 20
start_sub sub2 "$N" 20
publish 1 "$N" 5000
wait_delivered sub1 sub2
stop_subs
read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2)"
read -r redirected _ <<<"$(kernel_counters 1)"
# Peak memory: VmHWM plus the memlock of every BPF map it holds (what memcg accounting charges for them).
read -r hwm_kb maps_bytes <<<"$(peak_memory "$MOM_PID")"
peak_mib=$(((hwm_kb * 1024 + maps_bytes) / 1048576))
echo "peak memory: resident $((hwm_kb / 1024)) MiB + BPF maps $((maps_bytes / 1048576)) MiB of MemoryMax=$memory_max"
[ "$peak_mib" -lt "${memory_max%M}" ] || fail "peak memory ${peak_mib} MiB reaches MemoryMax=$memory_max"
stop_mom
echo "installed tempos-mom as uid 65534 with $caps: $total of $N delivered ($min..$max), kernel $redirected," \
     "duplicates $dups, corrupt $corrupt"
[ "$total" -eq "$N" ] && [ "$dups" -eq 0 ] && [ "$corrupt" -eq 0 ] || fail "strict events lost, duplicated or changed"
[ "$redirected" -eq "$N" ] || fail "$redirected of $N events went through the kernel"
[ -z "$(xdp_prog_id)" ] || fail "the XDP program is still attached after SIGTERM"

# The unit's SystemCallFilter, expanded into system call names (groups nest), plus those systemd always permits.
expand_syscall_filter() {
    local entry
    case $1 in
        @*) systemd-analyze syscall-filter "$1" | tail -n +2 | sed 's/^ *//; /^#/d; /^$/d' |
                while read -r entry; do expand_syscall_filter "$entry"; done ;;
        *) echo "$1" ;;
    esac
}
filter=$(sed -n 's/^SystemCallFilter=//p' "$UNIT")
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT")
[ -n "$filter" ] && [ -n "$families" ] || fail "the unit has no SystemCallFilter or RestrictAddressFamilies"
allowed=$({ for entry in $filter; do expand_syscall_filter "$entry"; done
    printf '%s\n' execve exit exit_group getrlimit rt_sigreturn sigreturn; } | sort -u)
[ "$(wc -l <<<"$allowed")" -gt 100 ] || fail "SystemCallFilter expands to too little: $allowed"

# Traced from its execve on: a best-effort topic for the socket path, a reload, a scrape, SIGTERM.
{ mom_config_header; topic_toml 1 strict --mac sub1; topic_toml 2 best-effort sub2; } >"$E2E_TMP/audit.toml"
ip netns exec "$TOPO_NS_mom" strace -f -qq -o "$E2E_TMP/strace.out" "${UNIT_SANDBOX[@]}" "$PREFIX/bin/tempos-mom" \
    --config "$E2E_TMP/audit.toml" >"$E2E_TMP/audit.log" 2>&1 &
strace_pid=$!
traced_mom() { pgrep -P "$strace_pid" -x tempos-mom; }
wait_log() {  # wait_log TEXT: bounded wait for TEXT in the traced tempos-mom's log
    local i
    for ((i = 0; i < 300; i++)); do
        grep -q "$1" "$E2E_TMP/audit.log" && return 0
        kill -0 "$strace_pid" 2>/dev/null || fail "traced tempos-mom exited: $(tail -5 "$E2E_TMP/audit.log")"
        sleep 0.1
    done
    fail "traced tempos-mom: no \"$1\" within 30 s: $(tail -5 "$E2E_TMP/audit.log")"
}
wait_log "tempos-mom running"
audited_pid=$(traced_mom) || fail "no tempos-mom under strace"
start_sub sub2 100 20
publish 2 100 1000
wait_subs
kill -HUP "$audited_pid"
wait_log "reload: no topic changed"
[ "$(metric '^tempos_reloads_total')" -ge 1 ] || fail "the traced tempos-mom's /metrics did not answer"
kill -TERM "$audited_pid"
wait "$strace_pid" || fail "traced tempos-mom exited with status $?: $(tail -5 "$E2E_TMP/audit.log")"
used=$(traced_calls "$E2E_TMP/strace.out" "$PREFIX/bin/tempos-mom")
read -r -a used_calls <<<"$(sed -n 1p <<<"$used")"
read -r -a used_families <<<"$(sed -n 2p <<<"$used")"
echo "traced tempos-mom: ${#used_calls[@]} system calls, families ${used_families[*]}"
denied=()
for call in "${used_calls[@]}"; do grep -qx "$call" <<<"$allowed" || denied+=("$call"); done
[ ${#denied[@]} -eq 0 ] || fail "SystemCallFilter=$filter would kill tempos-mom on: ${denied[*]}"
for family in "${used_families[@]}"; do
    [[ " $families " == *" $family "* ]] || fail "RestrictAddressFamilies=$families refuses $family"
done
[[ " ${used_calls[*]} " == *" bpf "* ]] || fail "the trace saw no bpf(): it did not cover the start-up"
echo PASS
