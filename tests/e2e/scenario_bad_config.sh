#!/usr/bin/env bash
# Scenario 9: a bad config at start: non-zero exit, a file:line message, no program attached.
. "$(dirname "$0")/lib.sh"
setup one-legged 1
{ mom_config_header; topic_toml 300 strict sub1; } >"$E2E_TMP/bad.toml"
set +e
topo_exec mom "$BIN/tempos-mom" --config "$E2E_TMP/bad.toml" >"$E2E_TMP/out.txt" 2>&1
status=$?
set -e
echo "exit status $status; message: $(grep -m1 'bad.toml' "$E2E_TMP/out.txt")"
[ "$status" -ne 0 ] || fail "tempos-mom accepted a topic id of 300"
id_line=$(grep -n '^id = 300' "$E2E_TMP/bad.toml" | cut -d: -f1)
grep -q "bad.toml:$id_line:" "$E2E_TMP/out.txt" || fail "the message does not name bad.toml:$id_line (the id line)"
! topo_exec mom ip link show "$TOPO_MOM_IF" | grep -q "prog/xdp" || fail "an XDP program was attached"
echo PASS
