#!/usr/bin/env bash
# Kernel fan-out over IPv6 (docs/fanout.md, docs/ipv6.md): a dual-stack MoM (listen [::]:9998) in a topology with
# IPv6 addresses (nodad), in XDP_MODE (native/generic), with the TC fan-out attached.
#   topic 3 strict, 3 subscription groups of 2 IPv6 subscribers each (with their MACs), published over IPv6: the
#           TC program clones each event once per group toward that group's round-robin member, in the kernel;
#   topic 4 strict, 2 groups of one IPv6 subscriber, published over IPv4: the fan-out never turns an event into
#           the other family, so it passes each event up (passed_family) and the socket path sends every group its
#           copy over IPv6;
#   topic 5 strict, 2 groups of one IPv6 subscriber without a MAC (sub5, sub6), published over IPv6: the adapter's
#           neighbour resolver finds both through NDP and writes their MACs into the groups (waited for), then the
#           TC program fans every event out in the kernel, none passed unresolved.
# --check refuses a strict topic whose groups mix the families at its line. Every group receives every event of its
# topic exactly once, topic 3's split ±1 per CPU that sent the group copies (per-CPU cursors, xdp_abi.h); every
# copy's UDP checksum verifies (captured and recomputed; the subscribers' Udp6InCsumErrors stay 0); the MoM's
# Udp6InDatagrams does not grow (no strict IPv6 event reaches its socket) and its Udp InDatagrams grows by topic 4's
# IPv4 events only.
. "$(dirname "$0")/lib.sh"
N=${N:-2000}
M=${M:-500}
GROUPS_N=3
PER_GROUP=2
SUBS=$((GROUPS_N * PER_GROUP))
[ "$E2E_XDP_MODE" != off ] || { echo "the kernel fan-out needs a kernel path (XDP_MODE native or generic)"; exit 77; }
setup one-legged "$SUBS" --ipv6
MOM_LISTEN="[::]:$MOM_PORT"

members=()  # sub1/6 sub2/6 --group sub3/6 sub4/6 --group ...
for ((g = 0; g < GROUPS_N; g++)); do
    ((g == 0)) || members+=(--group)
    for ((m = 1; m <= PER_GROUP; m++)); do members+=("sub$((g * PER_GROUP + m))/6"); done
done

# A strict topic with an IPv4 group and an IPv6 group is refused at its id's line.
{ mom_config_header; topic_toml 6 strict sub1 --group sub2/6; } >"$E2E_TMP/refused.toml"
if "$BIN/tempos-mom" --config "$E2E_TMP/refused.toml" --check >"$E2E_TMP/check.out" 2>&1; then
    fail "--check accepted a strict topic whose groups mix IPv4 and IPv6 in xdp_mode $E2E_XDP_MODE"
fi
grep -q "refuses topic 6: topic 6: strict with several subscription groups of IPv4 and IPv6 members" \
    "$E2E_TMP/check.out" || fail "--check: unexpected refusal: $(cat "$E2E_TMP/check.out")"

start_mom_topics "3 strict --mac ${members[*]}" "4 strict --mac sub1/6 --group sub3/6" "5 strict sub5/6 --group sub6/6"
grep -q "TC fan-out program attached" "$E2E_TMP/mom.log" || fail "the TC fan-out program was not attached"
ALL_SUBS=()
for ((i = 1; i <= SUBS; i++)); do ALL_SUBS+=("sub$i"); start_sub "sub$i/6" 0 30; done

wait_for_mac "$(mac_of sub5)" group_member_mac 5 0 0
wait_for_mac "$(mac_of sub6)" group_member_mac 5 1 0

start_checksum_captures "${ALL_SUBS[@]}"
mark_stack_counters "${ALL_SUBS[@]}"
mom6_before=$(snmp6 mom Udp6InDatagrams)
csum6_before=0
for s in "${ALL_SUBS[@]}"; do csum6_before=$((csum6_before + $(snmp6 "$s" Udp6InCsumErrors))); done

PUBLISH_TO="[$TOPO_IP6_mom]:$MOM_PORT" publish 3 "$N" "${RATE:-5000}"
publish 4 "$M" 2000
PUBLISH_TO="[$TOPO_IP6_mom]:$MOM_PORT" publish 5 "$M" 2000
end_traffic
stop_checksum_captures && read -r complete_ok complete_bad partial_ok partial_bad no_csum <<<"$CAPTURED"
mom6_in=$(($(snmp6 mom Udp6InDatagrams) - mom6_before))
csum6=0
for s in "${ALL_SUBS[@]}"; do csum6=$((csum6 + $(snmp6 "$s" Udp6InCsumErrors))); done
csum6=$((csum6 - csum6_before))
group_counters=()
for ((g = 0; g < GROUPS_N; g++)); do group_counters+=("$(fanout_group_counters 3 "$g")"); done
read -r f_events f_ttl f_unresolved f_gso f_aborted f_family <<<"$(fanout_topic_counters 3)"
read -r f4_events _ _ _ f4_aborted f4_family <<<"$(fanout_topic_counters 4)"
read -r f5_events f5_ttl f5_unresolved f5_gso f5_aborted f5_family <<<"$(fanout_topic_counters 5)"
# kernel_counters columns (lib.sh): 0 redirected, 1 aborted, 2.. the pass reasons (11 fanout, 16 family).
read -r -a router3 <<<"$(kernel_counters 3)"
metrics sent3='tempos_adapter_sent_total\{.*topic="3"' sent4='tempos_adapter_sent_total\{.*topic="4"' \
    sent5='tempos_adapter_sent_total\{.*topic="5"' errors='tempos_adapter_send_errors_total\{'
stop_mom

echo "xdp_mode $E2E_XDP_MODE: topic 3 fan-out counters events=$f_events passed_ttl=$f_ttl" \
     "passed_unresolved=$f_unresolved passed_gso=$f_gso aborted=$f_aborted passed_family=$f_family;" \
     "the router passed topic 3's events as fanout=${router3[11]} family=${router3[16]};" \
     "topic 4 events=$f4_events passed_family=$f4_family aborted=$f4_aborted;" \
     "topic 5 (no MACs) events=$f5_events passed_unresolved=$f5_unresolved" \
     "passed=$((f5_ttl + f5_gso + f5_aborted + f5_family))"
report=$(fanout_group_problems 3 "$N" "$GROUPS_N" "$PER_GROUP")
echo "${report%$'\n'*}"
problem=${report##*$'\n'problem:}
# Topic 4 (IPv4 events, IPv6 groups) at sub1 and sub3, topic 5 (IPv6 groups without MACs) at sub5 and sub6: each
# of them gets every event of its topic once.
for at in 4:sub1 4:sub3 5:sub5 5:sub6; do
    t=${at%%:*} s=${at#*:}
    u=$(json_field "$E2E_TMP/$s.json" "$t" unique)
    d=$(json_field "$E2E_TMP/$s.json" "$t" duplicates)
    echo "topic $t: $s=$u duplicates=$d"
    [ "$u" -eq "$M" ] && [ "$d" -eq 0 ] || problem=${problem:-"topic $t: $s received $u of $M events ($d duplicates)"}
done
[ -z "$problem" ] || fail "$problem"
echo "MoM Udp InDatagrams +$mom_in, Udp6InDatagrams +$mom6_in; subscribers InCsumErrors +$csum, Udp6InCsumErrors" \
     "+$csum6; captured: complete checksum ok $complete_ok, bad $complete_bad; CHECKSUM_PARTIAL ok $partial_ok," \
     "bad $partial_bad; none $no_csum; socket path sent $sent3/$sent4/$sent5, send errors $errors"
[ "$f_events" -eq "$N" ] || fail "the fan-out fanned out $f_events of topic 3's $N IPv6 events"
[ $((f_ttl + f_unresolved + f_gso + f_aborted + f_family)) -eq 0 ] || fail "the fan-out passed some of topic 3's events"
# Each event the router saw was handed on to the fan-out, counted as such.
[ "${router3[11]}" -eq "$N" ] && [ "${router3[16]}" -eq 0 ] ||
    fail "the router handed on ${router3[11]} of $N events as fanout (family: ${router3[16]})"
[ "$f4_family" -eq "$M" ] && [ "$f4_events" -eq 0 ] ||
    fail "topic 4: the fan-out passed $f4_family of $M IPv4 events as family (fanned out $f4_events)"
[ "$sent3" -eq 0 ] || fail "the socket path sent $sent3 copies of topic 3 (all of them belong to the kernel)"
[ "$f5_events" -eq "$M" ] && [ $((f5_ttl + f5_unresolved + f5_gso + f5_aborted + f5_family)) -eq 0 ] ||
    fail "topic 5 (members without MACs): the fan-out fanned out $f5_events of $M events, passed $f5_unresolved unresolved"
[ "$sent5" -eq 0 ] || fail "the socket path sent $sent5 copies of topic 5 (all of them belong to the kernel)"
[ "$sent4" -eq $((2 * M)) ] || fail "the socket path sent $sent4 copies of topic 4, expected $((2 * M))"
[ "$errors" -eq 0 ] || fail "$errors send errors"
[ "$mom6_in" -eq 0 ] || fail "the MoM's Udp6InDatagrams grew by $mom6_in: strict IPv6 events reached its socket"
[ "$mom_in" -eq "$M" ] || fail "the MoM's Udp InDatagrams grew by $mom_in, expected $M (topic 4 over IPv4)"
[ "$csum" -eq 0 ] && [ "$csum6" -eq 0 ] || fail "subscribers counted UDP checksum errors ($csum IPv4, $csum6 IPv6)"
[ "$complete_bad" -eq 0 ] && [ "$partial_bad" -eq 0 ] || fail "copies with wrong checksums reached the subscribers"
[ $((complete_ok + partial_ok)) -eq $((GROUPS_N * N + 4 * M)) ] ||
    fail "$((complete_ok + partial_ok)) of $((GROUPS_N * N + 4 * M)) copies captured with a verified checksum"
echo PASS
