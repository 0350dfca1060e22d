#!/usr/bin/env bash
# tempos-inspect (docs/inspect.md) against a live MoM. Configured: strict topic 1 on sub1 and sub2 with MACs,
# strict topic 2 on sub3 without (the adapter resolves its MAC), topic 3 fanned out to the groups {sub1, sub2} and {sub3, sub4},
# best-effort topic 4. Sent: known numbers of events on topics 1, 3 and 4. The tool must report the router and
# its mode as `ip link` and bpftool see them, the fan-out program, every route with the configured members and
# MACs, exactly the topics configured or sent to, and counters equal to what was sent. It must say clearly when
# nothing is attached (exit status 2), when the attached program is not ours, and which privilege is missing.
. "$(dirname "$0")/lib.sh"
N_STRICT=${N_STRICT:-700}
N_FANOUT=${N_FANOUT:-300}
N_BEST_EFFORT=${N_BEST_EFFORT:-200}
MODE=${XDP_MODE:-native}
setup one-legged 4
inspect() { topo_exec "$1" "$BIN/tempos-inspect" --interface "$2" "${@:3}"; }

# expect_error STATUS TEXT NODE IF [WRAPPER...]: tempos-inspect on NODE's IF (through WRAPPER) exits with STATUS
# and says TEXT.
expect_error() {
    local status=$1 text=$2 node=$3 ifname=$4 rc=0 out
    shift 4
    out=$(topo_exec "$node" "$@" "$INSPECT_BIN" --interface "$ifname" 2>&1) || rc=$?
    echo "$node:$ifname${*:+ via $1}: status $rc: $out"
    [ "$rc" -eq "$status" ] || fail "tempos-inspect exited with $rc, expected $status"
    grep -qF "$text" <<<"$out" || fail "tempos-inspect did not say \"$text\""
}
# A copy every user may run: the checkout may lie under a directory uid 65534 cannot traverse.
chmod 0755 "$E2E_TMP"
INSPECT_BIN=$E2E_TMP/tempos-inspect
install -m 0755 "$BIN/tempos-inspect" "$INSPECT_BIN"

expect_error 2 "no XDP program is attached to $TOPO_MOM_IF" mom "$TOPO_MOM_IF"
expect_error 1 "no interface eth9 in this network namespace" mom eth9
topo_exec pub ip link set dev lo xdpgeneric obj "$BUILD_DIR/bpf/veth_peer_pass.bpf.o" sec xdp
expect_error 1 "is not the tempos XDP router: it has no map topic_routes" pub lo

{ mom_config_header; topic_toml 1 strict --mac sub1 sub2; topic_toml 2 strict sub3; topic_toml 4 best-effort sub4
  printf '[[topics]]\nid = 3\nqos = "strict"\n'
  for group in "sub1 sub2" "sub3 sub4"; do
      printf '  [[topics.groups]]\n  subscribers = [\n'
      for s in $group; do
          ip_var="TOPO_IP_$s"
          printf '    { ip = "%s", port = %s, mac = "%s" },\n' "${!ip_var}" "$MOM_PORT" "$(mac_of "$s")"
      done
      printf '  ]\n'
  done
} >"$E2E_TMP/mom.toml"
start_mom "$E2E_TMP/mom.toml"
expect_error 1 "needs CAP_SYS_ADMIN" mom "$TOPO_MOM_IF" setpriv --reuid=65534 --regid=65534 --clear-groups \
    --inh-caps=-all --bounding-set=-all --

publish 1 "$N_STRICT" 2000
publish 3 "$N_FANOUT" 2000
publish 4 "$N_BEST_EFFORT" 2000
# The last frames may still be on their way: wait (bounded) until the router has seen every event.
seen() { mom_state_query 'print(sum(t["counters"]["redirected_packets"] + sum(t["counters"]["passed"].values()) for t in s["topics"]))'; }
for ((i = 0; i < 50; i++)); do
    [ "$(seen)" -ge $((N_STRICT + N_FANOUT + N_BEST_EFFORT)) ] && break
    sleep 0.1
done
# sub3's MAC, resolved by the adapter from the neighbour table (bounded wait: it asks the kernel to ARP at start).
for ((i = 0; i < 50; i++)); do
    [ "$(mom_state_query 'print(s["topics"][0]["strict_members"][0]["mac"])' --topic 2)" = "$(mac_of sub3)" ] && break
    sleep 0.1
done
# Independent views of the attached programs: ip link (netlink) for the router, bpftool for the fan-out program.
link_id=$(topo_exec mom ip -d link show "$TOPO_MOM_IF" | awk '/prog\/xdp/ { for (i = 1; i <= NF; i++) if ($i == "id") print $(i + 1) }' | head -n1)
[ -n "$link_id" ] || fail "ip link shows no XDP program on $TOPO_MOM_IF"

# egress_vlans: this kernel has no VLAN devices (CONFIG_VLAN_8021Q unset), so the entry the adapter writes for a
# member behind a VLAN sub-interface is written here with bpftool into the router's map: VLAN ifindex 4300 (no such
# device) -> the MoM's interface, 802.1ad, VID 200. No route uses it.
mom_ifindex=$(topo_exec mom cat "/sys/class/net/$TOPO_MOM_IF/ifindex")
vlans_map=$(bpftool -j prog show id "$link_id" | python3 -c '
import json, subprocess, sys
for m in json.load(sys.stdin)["map_ids"]:
    if json.loads(subprocess.check_output(["bpftool", "-j", "map", "show", "id", str(m)]))["name"] == "egress_vlans":
        print(m)')
[ -n "$vlans_map" ] || fail "the router has no egress_vlans map"
bpftool map update id "$vlans_map" key 0xcc 0x10 0 0 \
    value $((mom_ifindex & 255)) $((mom_ifindex >> 8 & 255)) $((mom_ifindex >> 16 & 255)) 0 0x88 0xa8 0x00 0xc8 ||
    fail "writing the egress_vlans entry"

mom_state >"$E2E_TMP/state.json" || fail "tempos-inspect --json failed"
inspect mom "$TOPO_MOM_IF" >"$E2E_TMP/state.txt" || fail "tempos-inspect failed"
cat "$E2E_TMP/state.txt"
fanout_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["fanout"]["id"])' "$E2E_TMP/state.json")
fanout_seen=$(bpftool -j prog show id "$fanout_id" | python3 -c 'import json, sys; p = json.load(sys.stdin); print(p["type"], p["name"])')

python3 - "$E2E_TMP/state.json" <<PY || fail "tempos-inspect's state differs from what was configured and sent"
import json, sys
s = json.load(open(sys.argv[1]))
problems = []
def expect(what, got, want):
    if got != want: problems.append(f"{what}: {got!r}, expected {want!r}")
def member(node, mac):
    return {"ip": node[0], "port": $MOM_PORT, "mac": node[1] if mac else None,
            "src_mac": "$(mac_of mom)" if mac else None,
            "egress": {"name": "$TOPO_MOM_IF", "ifindex": s["interface"]["ifindex"]} if mac else None}
sub = {n: (ip, m) for n, ip, m in [("sub1", "$TOPO_IP_sub1", "$(mac_of sub1)"), ("sub2", "$TOPO_IP_sub2", "$(mac_of sub2)"),
                                   ("sub3", "$TOPO_IP_sub3", "$(mac_of sub3)"), ("sub4", "$TOPO_IP_sub4", "$(mac_of sub4)")]}
expect("interface", s["interface"]["name"], "$TOPO_MOM_IF")
expect("xdp", (s["xdp"]["id"], s["xdp"]["name"], s["xdp"]["mode"]), ($link_id, "tempos_router", "$MODE"))
expect("fan-out program as bpftool sees it", "$fanout_seen", "sched_cls tempos_fanout")
expect("fan-out attach point", s["fanout"]["attach"], "tcx_ingress")
expect("egress ports", s["egress_ports"], [])
expect("egress VLANs", s["egress_vlans"], [{"vlan": {"name": "ifindex 4300", "ifindex": 4300},
                                          "lower": {"name": "$TOPO_MOM_IF", "ifindex": $mom_ifindex},
                                          "tpid": 0x88a8, "vid": 200}])
topics = {t["topic"]: t for t in s["topics"]}
expect("topics listed", sorted(topics), [1, 2, 3, 4])
zero = {r: 0 for r in ["not_ipv4", "malformed", "fragment", "not_our_port", "no_payload", "not_strict", "ttl", "fib",
                       "no_egress", "fanout", "partial_csum", "not_for_us", "too_big", "ext_header", "family"]}
t = topics[1]
expect("topic 1 members", t["strict_members"], [member(sub["sub1"], True), member(sub["sub2"], True)])
expect("topic 1 groups", t["groups"], [])
expect("topic 1 redirected", t["counters"]["redirected_packets"], $N_STRICT)
expect("topic 1 passed", t["counters"]["passed"], zero)
cpus = t["counters"]["redirecting_cpus"]
if not 1 <= cpus <= s["possible_cpus"]: problems.append(f"topic 1 redirecting_cpus {cpus}")
t = topics[2]
expect("topic 2 members (MAC resolved by the adapter)", t["strict_members"], [member(sub["sub3"], True)])
expect("topic 2 counters", (t["counters"]["redirected_packets"], t["counters"]["passed"]), (0, zero))
t = topics[3]
expect("topic 3 strict members", t["strict_members"], [])
expect("topic 3 groups", [g["members"] for g in t["groups"]],
       [[member(sub["sub1"], True), member(sub["sub2"], True)], [member(sub["sub3"], True), member(sub["sub4"], True)]])
expect("topic 3 handed to the fan-out", t["counters"]["passed"], dict(zero, fanout=$N_FANOUT))
expect("topic 3 fan-out events", t["fanout_counters"],
       {"events": $N_FANOUT, "passed_ttl": 0, "passed_unresolved": 0, "passed_gso": 0, "passed_too_big": 0,
        "passed_family": 0, "aborted": 0})
for g in t["groups"]:
    c = g["counters"]
    expect(f"topic 3 group {g['group']} copies, clone errors, unresolved, too big",
           (c["copies"], c["clone_errors"], c["unresolved"], c["too_big"]), ($N_FANOUT, 0, 0, 0))
    if not 1 <= c["copying_cpus"] <= s["possible_cpus"]: problems.append(f"group {g['group']} copying_cpus {c['copying_cpus']}")
t = topics[4]
expect("topic 4 routes", (t["strict_members"], t["groups"]), ([], []))
expect("topic 4 passed", t["counters"]["passed"], zero)
expect("topic 4 to the best-effort CPUs, arrived there",
       (t["counters"]["best_effort_offered"], t["counters"]["best_effort_arrived"]), ($N_BEST_EFFORT, $N_BEST_EFFORT))
expect("best-effort CPUs (veth: no NIC interrupt, so every online CPU)", len(s["best_effort_cpus"]) > 0, True)
print("checked: programs, 4 topics, routes of", sum(len(t["strict_members"]) for t in s["topics"]), "strict members",
      "and 2 fan-out groups, counters; no topic:", s["no_topic"]["passed"])
for p in problems: print("MISMATCH:", p)
sys.exit(1 if problems else 0)
PY
grep -q "^XDP router    program $link_id tempos_router, $MODE mode$" "$E2E_TMP/state.txt" || fail "the table lacks the router"
grep -qE "^  1 +strict +- +0 +$TOPO_IP_sub1:$MOM_PORT +$(mac_of sub1) +$TOPO_MOM_IF from $(mac_of mom)$" \
    "$E2E_TMP/state.txt" || fail "the table lacks topic 1's first member"
grep -qxF "egress VLANs  ifindex 4300 (ifindex 4300) -> $TOPO_MOM_IF (ifindex $mom_ifindex) tagged 802.1ad 200" \
    "$E2E_TMP/state.txt" || fail "the table lacks the egress VLAN"
grep -qE "^  3 +$N_FANOUT +0 +0 +0 +0 +0 +0$" "$E2E_TMP/state.txt" || fail "the table lacks topic 3's fan-out counters"

stop_mom
expect_error 2 "no XDP program is attached to $TOPO_MOM_IF" mom "$TOPO_MOM_IF"
echo PASS
