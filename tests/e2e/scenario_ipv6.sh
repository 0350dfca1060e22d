#!/usr/bin/env bash
# IPv6 end to end (docs/ipv6.md): one dual-stack MoM (listen [::]:9998) in a topology with IPv6 addresses (nodad),
# in XDP_MODE (off: no program; native/generic: the XDP router attached, which routes strict IPv6 events in the
# kernel as it does IPv4 ones).
#   topic 1 best-effort, IPv6 subscribers sub1, sub2, published over IPv6 (socket path in every mode); with the
#           router attached every event goes through the best-effort CPUs first (the cpumap, docs/isolation.md):
#           best_effort_offered = best_effort_arrived = N, none passed up, and the MoM namespace's
#           Udp6InCsumErrors does not grow: the publisher's veth leaves CHECKSUM_PARTIAL fields, which the router
#           completes in native mode (the skb after the cpumap is CHECKSUM_NONE) and keeps in generic mode;
#   topic 2 best-effort, one group mixing IPv4 sub3 and IPv6 sub1, published over IPv4 at the same time (two
#           publishers of both families on the one MoM);
#   topic 3 strict, IPv6 subscribers sub1, sub2 (with their MACs), published over IPv6: the socket path with
#           xdp_mode off, else routed in the kernel;
#   topic 4 strict, IPv4 subscriber sub3, published over IPv4: with the router attached only, routed in the
#           kernel as without IPv6 (the dual-stack listen does not change the IPv4 kernel path);
#   topic 5 strict, IPv6 subscriber sub2 without a MAC, published over IPv6, with the router attached only, IPv6
#           forwarding off (as on a user's host; bpf_fib_lookup would refuse): the adapter's neighbour resolver
#           solicits sub2 (NDP) and writes its MAC into the route, waited for before publishing; then every event
#           is routed in the kernel.
# With the router attached, --check refuses a strict group mixing IPv4 and IPv6 members at its topic's line.
# Every event arrives exactly once, round-robin exact to ±1; the MoM's Udp and Udp6 InDatagrams grow by exactly
# the events the socket path took (strict events routed in the kernel never reach it); every event the router did
# not route is counted by a pass reason; the subscribers' Udp6 and Udp InCsumErrors stay 0.
. "$(dirname "$0")/lib.sh"
N=${N:-2000}
setup one-legged 3 --ipv6
MOM_LISTEN="[::]:$MOM_PORT"
V6="[$TOPO_IP6_mom]:$MOM_PORT"

if [ "$E2E_XDP_MODE" = off ]; then
    start_mom_topics "1 best-effort sub1/6 sub2/6" "2 best-effort sub3 sub1/6" "3 strict sub1/6 sub2/6"
else
    # A strict group of both families is refused at its id's line, naming the reason; the rest starts.
    { mom_config_header; topic_toml 6 strict sub3 sub1/6; } >"$E2E_TMP/refused.toml"
    if "$BIN/tempos-mom" --config "$E2E_TMP/refused.toml" --check >"$E2E_TMP/check.out" 2>&1; then
        fail "--check accepted a strict group mixing IPv4 and IPv6 in xdp_mode $E2E_XDP_MODE"
    fi
    grep -q "refuses topic 6: topic 6, group 0: strict with IPv4 and IPv6 members in one group" "$E2E_TMP/check.out" ||
        fail "--check: unexpected refusal: $(cat "$E2E_TMP/check.out")"
    [ "$(topo_exec mom sysctl -n "net.ipv6.conf.$TOPO_MOM_IF.forwarding")" = 0 ] ||
        fail "IPv6 forwarding is on in the MoM's namespace"
    start_mom_topics "1 best-effort sub1/6 sub2/6" "2 best-effort sub3 sub1/6" "3 strict --mac sub1/6 sub2/6" \
        "4 strict --mac sub3" "5 strict sub2/6"
    topo_exec mom ip link show "$TOPO_MOM_IF" | grep -q "prog/xdp" || fail "no XDP program attached"
    wait_route_mac 5 0 "$(mac_of sub2)"
fi
grep -q "listening on udp \[::\]:$MOM_PORT (IPv6 and IPv4, dual-stack)" "$E2E_TMP/mom.log" ||
    fail "the MoM does not say it listens dual-stack on [::]:$MOM_PORT"

start_sub sub1/6 0 30
start_sub sub2/6 0 30
start_sub sub3 0 30
subs=(sub1 sub2 sub3)
mark_stack_counters "${subs[@]}"
mom6_before=$(snmp6 mom Udp6InDatagrams)
mom_csum6_before=$(snmp6 mom Udp6InCsumErrors)
csum6_before=0
for s in "${subs[@]}"; do csum6_before=$((csum6_before + $(snmp6 "$s" Udp6InCsumErrors))); done

# Two publishers at once, one per family.
PUBLISH_TO=$V6 publish_on 0 1 "$N" 5000 &
v6_publisher=$!
publish_on 1 2 "$N" 5000
wait "$v6_publisher" || fail "the IPv6 publisher failed"
PUBLISH_TO=$V6 publish 3 "$N" 5000
kernel=0 expected5=0
if [ "$E2E_XDP_MODE" != off ]; then
    publish 4 "$N" 5000
    PUBLISH_TO=$V6 publish 5 "$N" 5000
    kernel=$N expected5=$N
fi
end_traffic
mom6_in=$(($(snmp6 mom Udp6InDatagrams) - mom6_before))
mom_csum6=$(($(snmp6 mom Udp6InCsumErrors) - mom_csum6_before))
csum6=0
for s in "${subs[@]}"; do csum6=$((csum6 + $(snmp6 "$s" Udp6InCsumErrors))); done
csum6=$((csum6 - csum6_before))
metrics sent1='tempos_adapter_sent_total\{.*topic="1"' sent2='tempos_adapter_sent_total\{.*topic="2"' \
    sent3='tempos_adapter_sent_total\{.*topic="3"' errors='tempos_adapter_send_errors_total\{' \
    received1='tempos_events_received_total\{topic="1"' received2='tempos_events_received_total\{topic="2"'
# kernel_counters columns (lib.sh): 0 redirected, 1 aborted, 2.. the pass reasons (7 not_strict, 9 fib).
if [ "$E2E_XDP_MODE" != off ]; then
    read -r -a topic1 <<<"$(kernel_counters 1)"
    # Offered by the router to the best-effort CPUs, arrived there (the cpumap-entry program): their difference is
    # what the cpumap queues dropped (docs/isolation.md).
    read -r offered1 arrived1 <<<"$(mom_state_query "
c = s['topics'][0]['counters']
print(c['best_effort_offered'], c['best_effort_arrived'])" --topic 1)"
    read -r -a topic3 <<<"$(kernel_counters 3)"
    read -r -a topic4 <<<"$(kernel_counters 4)"
    read -r -a topic5 <<<"$(kernel_counters 5)"
    # Each CPU has its own round-robin cursor (xdp_abi.h): the kernel's split is exact to ±1 per routing CPU.
    split3=$(kernel_routing_cpus 3)
    passed5=0
    for c in "${topic5[@]:1:16}"; do passed5=$((passed5 + c)); done
fi
stop_mom

read -r total1 min1 max1 dups1 corrupt1 <<<"$(topic_totals 1 sub1 sub2)"
read -r total2 min2 max2 dups2 corrupt2 <<<"$(topic_totals 2 sub3 sub1)"
read -r total3 min3 max3 dups3 corrupt3 <<<"$(topic_totals 3 sub1 sub2)"
read -r total4 _ _ dups4 corrupt4 <<<"$(topic_totals 4 sub3)"
read -r total5 _ _ dups5 corrupt5 <<<"$(topic_totals 5 sub2)"
echo "xdp_mode $E2E_XDP_MODE, sent $N per topic:" \
     "topic 1 (IPv6 -> IPv6) delivered=$total1 split $min1..$max1 dups=$dups1 corrupt=$corrupt1;" \
     "topic 2 (IPv4 -> IPv4+IPv6) delivered=$total2 split $min2..$max2 dups=$dups2 corrupt=$corrupt2;" \
     "topic 3 (strict IPv6) delivered=$total3 split $min3..$max3${topic3:+ redirected in the kernel ${topic3[0]}};" \
     "topic 4 (strict IPv4, kernel) delivered=$total4${topic4:+ redirected in the kernel ${topic4[0]}};" \
     "topic 5 (strict IPv6, no MAC) delivered=$total5${topic5:+ redirected ${topic5[0]}, passed $passed5 (fib ${topic5[9]})};" \
     "metrics sent $sent1/$sent2/$sent3 received $received1/$received2 send_errors=$errors;" \
     "${offered1:+topic 1 best-effort CPUs offered $offered1 arrived $arrived1;}" \
     "MoM Udp InDatagrams +$mom_in, Udp6InDatagrams +$mom6_in, Udp6InCsumErrors +$mom_csum6;" \
     "subscribers InCsumErrors +$csum, Udp6InCsumErrors +$csum6"
[ "$total1" -eq "$N" ] || fail "topic 1: delivered $total1 of $N IPv6 events"
[ "$total2" -eq "$N" ] || fail "topic 2: delivered $total2 of $N events to the mixed group"
((max1 - min1 <= 1 && max2 - min2 <= 1)) || fail "round-robin split off by more than 1"
[ $((dups1 + corrupt1 + dups2 + corrupt2 + dups3 + corrupt3 + dups4 + corrupt4 + dups5 + corrupt5)) -eq 0 ] ||
    fail "duplicates or changed payloads"
[ "$total4" -eq "$kernel" ] || fail "topic 4: delivered $total4, expected $kernel"
[ "$total3" -eq "$N" ] || fail "topic 3: delivered $total3 of $N strict IPv6 events"
((max3 - min3 <= ${split3:-1})) || fail "topic 3: round-robin split $min3..$max3 off by more than ${split3:-1}"
[ "$total5" -eq "$expected5" ] || fail "topic 5: delivered $total5, expected $expected5"
# The socket path serves topic 3 with xdp_mode off only; with the router attached it sends none of its copies.
strict=$N
[ "$E2E_XDP_MODE" = off ] || strict=0
[ "$sent1" -eq "$N" ] && [ "$sent2" -eq "$N" ] && [ "$sent3" -eq "$strict" ] ||
    fail "the socket path sent $sent1/$sent2/$sent3 copies, expected $N/$N/$strict"
[ "$received1" -eq "$N" ] && [ "$received2" -eq "$N" ] || fail "the MoM received $received1/$received2 events"
[ "$errors" -eq 0 ] || fail "$errors send errors"
[ "$mom_in" -eq "$N" ] || fail "the MoM's Udp InDatagrams grew by $mom_in, expected $N (topic 2 over IPv4)"
# Through the MoM's IPv6 socket: topic 1, topic 3 when not in the kernel, the events of topic 5 the router passed.
expected6=$((N + strict + ${passed5:-0}))
[ "$mom6_in" -eq "$expected6" ] || fail "the MoM's Udp6InDatagrams grew by $mom6_in, expected $expected6"
[ "$csum" -eq 0 ] && [ "$csum6" -eq 0 ] || fail "subscribers counted UDP checksum errors ($csum IPv4, $csum6 IPv6)"
[ "$mom_csum6" -eq 0 ] || fail "the MoM's namespace counted $mom_csum6 IPv6 UDP checksum errors"
if [ "$E2E_XDP_MODE" != off ]; then
    # Every best-effort IPv6 event through the cpumap: none passed up (not_strict, partial_csum), none lost in the queue.
    [ "${topic1[7]}" -eq 0 ] && [ "${topic1[12]}" -eq 0 ] ||
        fail "the router passed topic 1's best-effort IPv6 events up: not_strict ${topic1[7]}, partial_csum ${topic1[12]}"
    [ "$offered1" -eq "$N" ] && [ "${topic1[17]}" -eq "$N" ] ||
        fail "the router offered $offered1 (${topic1[17]}) of topic 1's $N best-effort IPv6 events to the best-effort CPUs"
    [ "$arrived1" -eq "$N" ] || fail "$arrived1 of topic 1's $N best-effort IPv6 events arrived on the best-effort CPUs"
    [ "${topic3[0]}" -eq "$N" ] || fail "the router redirected ${topic3[0]} of topic 3's $N strict IPv6 events"
    [ "${topic4[0]}" -eq "$N" ] || fail "the router redirected ${topic4[0]} of topic 4's $N IPv4 strict events"
    # The route carried sub2's MAC before the first event (the neighbour resolver): all routed, none passed.
    [ "${topic5[0]}" -eq "$N" ] && [ "$passed5" -eq 0 ] ||
        fail "topic 5: redirected ${topic5[0]}, passed $passed5 (fib ${topic5[9]}) of $N"
fi
echo PASS
