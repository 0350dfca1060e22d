#!/usr/bin/env bash
# The installed product as the systemd unit runs it (docs/install.md): `cmake --install` into a temporary prefix
# gives the documented layout; the unit is written for that prefix and passes `systemd-analyze verify` without a
# single remark; the installed tempos-mom finds the installed plugin (its default plugin directory) and accepts
# the installed example config; then, in the test network, it runs as an unprivileged user with exactly the
# capabilities the unit grants (read from the unit): native XDP delivers every strict event, the strict
# dispatcher gets SCHED_FIFO, and SIGTERM ends it with status 0 and detaches the program.
. "$(dirname "$0")/lib.sh"
E2E_XDP_MODE=native  # whatever XDP_MODE says: the unit's capabilities are checked against native XDP
setup one-legged 2 --peer-pass  # first: its trap removes $E2E_TMP, the installed tree with it, whatever happens
N=1000
PREFIX=$E2E_TMP/prefix
UNIT=$PREFIX/lib/systemd/system/tempos-mom.service
# The unprivileged tempos-mom must read its config and run the installed files.
chmod 0755 "$E2E_TMP"

cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$E2E_TMP/install.log" 2>&1 || fail "cmake --install failed: $(cat "$E2E_TMP/install.log")"
for file in bin/tempos-mom bin/tempos-pub bin/tempos-sub bin/tempos-inspect lib/libxdp_adapter.so share/tempos/config/tempos-mom.toml \
    share/doc/tempos/install.md share/tempos/prometheus/prometheus.yml share/tempos/prometheus/tempos-alerts.yml \
    share/tempos/grafana/tempos-dashboard.json share/doc/tempos/monitoring.md lib/systemd/system/tempos-mom.service; do
    [ -e "$PREFIX/$file" ] || fail "the install has no $file"
done
grep -qx "ExecStart=$PREFIX/bin/tempos-mom --config /etc/tempos/tempos-mom.toml" "$UNIT" ||
    fail "the unit does not start the installed binary: $(grep '^ExecStart=' "$UNIT")"
verify=$(systemd-analyze verify "$UNIT" 2>&1) || fail "systemd-analyze verify failed: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify remarks: $verify"
"$PREFIX/bin/tempos-mom" --config "$PREFIX/share/tempos/config/tempos-mom.toml" --check ||
    fail "the installed example config does not pass --check with the installed plugin"

caps=$(sed -n 's/^AmbientCapabilities=//p' "$UNIT")
[ -n "$caps" ] || fail "the unit grants no capabilities"
[ "$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")" = "$caps" ] || fail "bounding set and ambient set differ"
grep -qx "DynamicUser=yes" "$UNIT" || fail "the unit does not run as a dynamic user"
setpriv_caps=$(tr 'A-Z' 'a-z' <<<"$caps" | sed 's/cap_/+/g; s/ /,/g')
echo "unit: $caps -> setpriv $setpriv_caps"

{ mom_config_header; topic_toml 1 strict --mac sub1 sub2; } >"$E2E_TMP/mom.toml"
MOM_BIN=$PREFIX/bin/tempos-mom start_mom "$E2E_TMP/mom.toml" setpriv --reuid=65534 --regid=65534 --clear-groups \
    --inh-caps=-all,"$setpriv_caps" --ambient-caps=-all,"$setpriv_caps" --bounding-set=-all,"$setpriv_caps" --
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$MOM_PID/status")" = 65534 ] || fail "tempos-mom does not run as uid 65534"
grep -q "XDP router attached to $TOPO_MOM_IF .* in native mode" "$E2E_TMP/mom.log" || fail "native XDP not attached"
grep -q "sq dispatcher runs under SCHED_FIFO" "$E2E_TMP/mom.log" || fail "the strict dispatcher did not get SCHED_FIFO"
grep -q "libxdp_adapter.so" <<<"$(grep "loaded from $PREFIX/lib/" "$E2E_TMP/mom.log")" ||
    fail "the adapter was not loaded from the installed lib/"

start_sub sub1 $((N / 2)) 20
start_sub sub2 $((N / 2)) 20
publish 1 "$N" 5000
wait_subs
read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2)"
read -r redirected _ <<<"$(kernel_counters 1)"
stop_mom
echo "installed tempos-mom as uid 65534 with $caps: $total of $N delivered ($min..$max), kernel $redirected," \
     "duplicates $dups, corrupt $corrupt"
[ "$total" -eq "$N" ] && [ "$dups" -eq 0 ] && [ "$corrupt" -eq 0 ] || fail "strict events lost, duplicated or changed"
[ "$redirected" -eq "$N" ] || fail "$redirected of $N events went through the kernel"
[ -z "$(xdp_prog_id)" ] || fail "the XDP program is still attached after SIGTERM"
echo PASS
