#!/usr/bin/env bash
# Scenario 16: Debian's xdp-filter (xdp-tools, a libxdp program) on the MoM's interface (docs/coexistence.md).
# 1. xdp-filter first: tempos-mom, with xdp_attach "link" and then "libxdp", exits non-zero with the busy error
#    naming xdp-filter's program (name, id, mode); xdp-filter stays attached (same id) and keeps passing traffic.
#    (This kernel refuses freplace programs, so libxdp cannot put both in its dispatcher.)
# 2. tempos-mom first (each attach method): `xdp-filter load` is refused, strict events are all routed by the
#    kernel meanwhile, and stopping tempos-mom leaves no XDP program behind.
. "$(dirname "$0")/lib.sh"
N=${N:-1000}
setup one-legged 1
command -v xdp-filter >/dev/null || fail "xdp-filter (Debian xdp-tools) is not installed (scripts/lib/packages.sh)"

# in_mom_with_bpffs CMD...: xdp-filter keeps its state in bpffs, which `ip netns exec` does not mount.
in_mom_with_bpffs() {
    topo_exec mom sh -c 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$@"' sh "$@"
}
# xdp_on_mom: "ID NAME" of the XDP program on the MoM's interface (as ip link shows it), empty when none.
xdp_on_mom() {
    topo_exec mom ip link show dev "$TOPO_MOM_IF" | awk '/prog\/xdp/ { for (i = 1; i <= NF; i++) {
        if ($i == "id") id = $(i + 1); if ($i == "name") name = $(i + 1) } } END { if (id) print id, name }'
}

# 1. xdp-filter first.
in_mom_with_bpffs xdp-filter load "$TOPO_MOM_IF" -m native >"$E2E_TMP/xdp-filter.log" 2>&1 ||
    fail "xdp-filter load failed: $(cat "$E2E_TMP/xdp-filter.log")"
read -r filter_id filter_name <<<"$(xdp_on_mom)"
[ -n "$filter_id" ] || fail "xdp-filter attached nothing"
echo "xdp-filter attached: program $filter_name, id $filter_id"
for attach in link libxdp; do
    { mom_config_header; echo "xdp_attach = \"$attach\""; topic_toml 1 strict --mac sub1; } >"$E2E_TMP/mom-$attach.toml"
    rc=0
    topo_exec mom "$BIN/tempos-mom" --config "$E2E_TMP/mom-$attach.toml" >"$E2E_TMP/refused-$attach.log" 2>&1 || rc=$?
    echo "xdp_attach=$attach next to xdp-filter: exit status $rc: $(grep -m1 'held by' "$E2E_TMP/refused-$attach.log")"
    ((rc != 0)) || fail "tempos-mom ($attach) started next to xdp-filter"
    grep -q "held by another program: $filter_name (id $filter_id, native); left attached" "$E2E_TMP/refused-$attach.log" ||
        fail "tempos-mom ($attach) did not name xdp-filter's program: $(cat "$E2E_TMP/refused-$attach.log")"
    grep -q "(busy)" "$E2E_TMP/refused-$attach.log" || fail "the error is not reported as busy"
    [ "$(xdp_on_mom)" = "$filter_id $filter_name" ] || fail "xdp-filter's program was displaced ($attach): $(xdp_on_mom)"
done
# xdp-filter still works: it passes the MoM's traffic (a socket in the MoM's namespace receives it).
got=$(mom_socket_receives 10)
echo "through xdp-filter, a socket in the MoM's namespace received $got of 10 events"
[ "$got" -eq 10 ] || fail "traffic did not pass xdp-filter"
in_mom_with_bpffs xdp-filter unload "$TOPO_MOM_IF" >/dev/null 2>&1 ||
    topo_exec mom ip link set dev "$TOPO_MOM_IF" xdp off
[ -z "$(xdp_on_mom)" ] || fail "xdp-filter could not be removed"

# 2. tempos-mom first.
for attach in link libxdp; do
    start_mom "$E2E_TMP/mom-$attach.toml"
    read -r router_id router_name <<<"$(xdp_on_mom)"
    [ "$router_name" = tempos_router ] || fail "the router is not attached ($attach): $(xdp_on_mom)"
    rc=0
    in_mom_with_bpffs xdp-filter load "$TOPO_MOM_IF" -m native >"$E2E_TMP/xdp-filter-$attach.log" 2>&1 || rc=$?
    echo "xdp-filter load next to tempos-mom ($attach): exit status $rc"
    [ "$(xdp_on_mom)" = "$router_id tempos_router" ] || fail "xdp-filter displaced the router ($attach): $(xdp_on_mom)"
    start_sub sub1 "$N" 20
    mark_stack_counters sub1
    publish 1 "$N" 5000
    end_traffic
    stop_mom
    got=$(json_field "$E2E_TMP/sub1.json" 1 unique)
    echo "tempos-mom ($attach): $got of $N strict events delivered, MoM InDatagrams +$mom_in"
    [ "$got" -eq "$N" ] || fail "strict events lost ($attach)"
    [ "$mom_in" -eq 0 ] || fail "strict events reached the MoM's socket ($attach)"
    [ -z "$(xdp_on_mom)" ] || fail "an XDP program is left after tempos-mom stopped ($attach): $(xdp_on_mom)"
done
echo PASS
