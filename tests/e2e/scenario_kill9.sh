#!/usr/bin/env bash
# Scenario 7: kill -9 of tempos-mom. Within 1 s no XDP program is left on the interface, and traffic to the
# MoM's port reaches the kernel stack again (a socket bound in the mom namespace receives it).
. "$(dirname "$0")/lib.sh"
setup one-legged 1
start_mom_topics "1 strict --mac sub1"
topo_exec mom ip link show "$TOPO_MOM_IF" | grep -q "prog/xdp" || fail "no XDP program attached after start"
kill -KILL "$MOM_PID"
wait "$MOM_PID" 2>/dev/null || true
gone=""
for ((i = 0; i < 10; i++)); do
    if ! topo_exec mom ip link show "$TOPO_MOM_IF" | grep -q "prog/xdp"; then gone=$((i * 100)); break; fi
    sleep 0.1
done
[ -n "$gone" ] || fail "an XDP program is still attached 1 s after kill -9"
echo "program gone within ${gone} ms of kill -9"
# The port is the kernel's again: a plain socket in the MoM's namespace receives a strict event.
got=$(mom_socket_receives 10)
echo "after the kill, a socket in the MoM's namespace received $got of 10 events"
[ "$got" -eq 10 ] || fail "traffic to the MoM's port did not reach the kernel stack"
echo PASS
