#!/usr/bin/env bash
# Scenario 9: a bad config at start: non-zero exit, a file:line message, no program attached.
. "$(dirname "$0")/lib.sh"
setup one-legged 1
cat >"$E2E_TMP/bad.toml" <<TOML
[mom]
listen = "$TOPO_IP_mom:$MOM_PORT"
interface = "$TOPO_MOM_IF"
[[adapters]]
name = "xdp"
library = "libxdp_adapter.so"
xdp_mode = "generic"
[[topics]]
id = 300
qos = "strict"
subscribers = [ "$TOPO_IP_sub1:$MOM_PORT" ]
TOML
set +e
topo_exec mom "$BIN/tempos-mom" --config "$E2E_TMP/bad.toml" >"$E2E_TMP/out.txt" 2>&1
status=$?
set -e
echo "exit status $status; message: $(grep -m1 'bad.toml' "$E2E_TMP/out.txt")"
[ "$status" -ne 0 ] || fail "tempos-mom accepted a topic id of 300"
grep -q "bad.toml:9:" "$E2E_TMP/out.txt" || fail "the message does not name bad.toml:9 (the id line)"
! topo_exec mom ip link show "$TOPO_MOM_IF" | grep -q "prog/xdp" || fail "an XDP program was attached"
echo PASS
