#!/usr/bin/env bash
# Scenario 8: malformed frames from a raw socket (AF_PACKET in the pub namespace, `tempos-testkit frames inject`) to the
# MoM's port: truncated headers, lying IP/UDP lengths, fragments, IP options, bad checksums, TTL 1, unknown
# topic. tempos-mom stays up and still delivers good events afterwards; the router's per-reason counters
# (read from its BPF map) account for every frame; subscribers receive exactly the well-formed events that
# should reach them (IP options via the kernel; a reassembled fragmented event and a datagram with trailing
# padding after its UDP length via the socket path; TTL 1 is passed up by the router and dropped, counted, by the
# socket path: re-sent, it would leave with a fresh TTL)
# and nothing else: frames with bad checksums that the router forwards unchanged are dropped by the
# subscriber's stack (the router never verifies checksums; its incremental update keeps a bad one bad).
. "$(dirname "$0")/lib.sh"
GOOD=${GOOD:-5}
setup one-legged 3

start_mom_topics "1 strict --mac sub1 sub2 sub3" "2 best-effort sub1 sub2 sub3"
for s in sub1 sub2 sub3; do start_sub $s 0 30; done

netstat_field() {  # NODE SECTION FIELD, from /proc/net/snmp and /proc/net/netstat
    topo_exec "$1" awk -v s="$2:" -v f="$3" '$1 == s { if (!n[s]++) { for (i = 1; i <= NF; i++) h[i] = $i } else
        for (i = 1; i <= NF; i++) if (h[i] == f) print $i }' /proc/net/snmp /proc/net/netstat
}
subs_sum() { local t=0 s; for s in sub1 sub2 sub3; do t=$((t + $(netstat_field $s "$1" "$2"))); done; echo $t; }
stack_snapshot() {
    echo "$(netstat_field mom Udp InCsumErrors) $(netstat_field mom Udp NoPorts) $(netstat_field mom Udp InErrors)" \
         "$(netstat_field mom Ip InHdrErrors) $(netstat_field mom IpExt InCsumErrors)" \
         "$(netstat_field mom Ip InTruncatedPkts 2>/dev/null || echo 0) $(netstat_field mom Ip ReasmOKs)" \
         "$(subs_sum Udp InCsumErrors) $(subs_sum IpExt InCsumErrors) $(subs_sum Ip InHdrErrors)"
}
read -r -a none_before <<<"$(kernel_counters 256)"
read -r -a strict_before <<<"$(kernel_counters 1)"
read -r -a be_before <<<"$(kernel_counters 2)"
read -r -a unknown_before <<<"$(kernel_counters 77)"
read -r -a stack_before <<<"$(stack_snapshot)"

"$BIN/tempos-testkit" frames inject --ns "$TOPO_NS_pub" --ifname eth0 --all --src-mac "$(mac_of pub)" \
    --dst-mac "$(mac_of mom)" --src-ip "$TOPO_IP_pub" --dst-ip "$TOPO_IP_mom" --port "$MOM_PORT" \
    --strict-topic 1 --best-effort-topic 2 --unknown-topic 77 >"$E2E_TMP/frames.json" || fail "tempos-testkit frames inject failed"
# The MoM's socket has taken the frames once it counted the empty datagram and the unknown topic (bounded wait).
for ((i = 0; i < 100; i++)); do
    (($(metric 'tempos_ingress_discarded_total\{reason="(empty|unknown_topic)"') >= 2)) && break
    kill -0 "$MOM_PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$MOM_PID" 2>/dev/null || fail "tempos-mom died on the malformed frames"
# Afterwards the MoM still routes good events.
topo_exec pub taskset -c 0 "$BIN/tempos-pub" --to "$TOPO_IP_mom:$MOM_PORT" --topic 1 --count "$GOOD" --rate 1000 \
    --first-sequence 2000000 >/dev/null 2>&1 || fail "tempos-pub failed"
wait_delivered sub1 sub2 sub3
kill -0 "$MOM_PID" 2>/dev/null || fail "tempos-mom died"
stop_subs

read -r -a none_after <<<"$(kernel_counters 256)"
read -r -a strict_after <<<"$(kernel_counters 1)"
read -r -a be_after <<<"$(kernel_counters 2)"
read -r -a unknown_after <<<"$(kernel_counters 77)"
read -r -a stack_after <<<"$(stack_snapshot)"
discarded='tempos_ingress_discarded_total\{reason='
metrics sq_received='tempos_events_received_total\{topic="1",path="sq"' \
    be_received='tempos_events_received_total\{topic="2",path="bq"' empty="$discarded\"empty\"" \
    unknown="$discarded\"unknown_topic\"" ttl_expired="$discarded\"ttl_expired\""
stop_mom

# Counter columns of kernel_counters (lib.sh).
columns=(redirected aborted not_ipv4 malformed fragment not_our_port no_payload not_strict ttl fib no_egress fanout
         partial_csum not_for_us too_big ext_header family best_effort)
delta() {  # SLOT_NAME COLUMN
    local -n before="$1_before" after="$1_after"
    local i
    for i in "${!columns[@]}"; do
        if [ "${columns[$i]}" = "$2" ]; then echo $((after[i] - before[i])); return 0; fi
    done
    fail "no router counter named $2"
}
expect() {  # SLOT_NAME SLOT_IN_JSON COLUMN [extra]: the router's count for the frames sent (+ extra, e.g. good events)
    python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["expected"]; print(e.get(sys.argv[2], {}).get(sys.argv[3], 0))' \
        "$E2E_TMP/frames.json" "$2" "$3"
}
echo "frames sent: $(python3 -c 'import json, sys; print("; ".join(json.load(open(sys.argv[1]))["cases"]))' "$E2E_TMP/frames.json")"
report=""
check() {  # SLOT_NAME SLOT_IN_JSON COLUMN EXTRA
    local got want
    got=$(delta "$1" "$3"); want=$(($(expect "$1" "$2" "$3") + ${4:-0}))
    report+=" $1.$3=$got"
    [ "$got" -eq "$want" ] || fail "router counter $1/$3 grew by $got, expected $want"
}
for c in malformed fragment no_payload redirected ttl not_strict; do check none none $c; done
not_ipv4=$(delta none not_ipv4)
not_our_port=$(delta none not_our_port)
for c in redirected ttl not_strict malformed fragment; do check strict strict $c $([ $c = redirected ] && echo "$GOOD"); done
check be best_effort best_effort
check unknown unknown best_effort
echo "router counters (deltas):$report none.not_ipv4=$not_ipv4 (ARP counts there too)" \
     "none.not_our_port=$not_our_port (IGMP reports and IPv6 neighbour discovery count there too)"
((not_ipv4 >= $(expect none none not_ipv4))) || fail "the non-IPv4 frame was not counted"
((not_our_port >= $(expect none none not_our_port))) || fail "the datagram to another port was not counted"

names=(mom.Udp.InCsumErrors mom.Udp.NoPorts mom.Udp.InErrors mom.Ip.InHdrErrors mom.IpExt.InCsumErrors
       mom.Ip.InTruncatedPkts mom.Ip.ReasmOKs subs.Udp.InCsumErrors subs.IpExt.InCsumErrors subs.Ip.InHdrErrors)
line="kernel stacks (deltas):"
for i in "${!names[@]}"; do line+=" ${names[$i]}=$((stack_after[i] - stack_before[i]))"; done
echo "$line"
stack_delta() { local i; for i in "${!names[@]}"; do [ "${names[$i]}" = "$1" ] && echo $((stack_after[i] - stack_before[i])); done; return 0; }
echo "MoM /metrics: sq received topic 1=$sq_received, bq received topic 2=$be_received, discarded empty=$empty" \
     "unknown_topic=$unknown ttl_expired=$ttl_expired"

want_delivered=$(($(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["delivered"])' "$E2E_TMP/frames.json") + GOOD))
read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2 sub3)"
read -r be_total _ _ _ _ <<<"$(topic_totals 2 sub1 sub2 sub3)"
read -r unknown_total _ _ _ _ <<<"$(topic_totals 77 sub1 sub2 sub3)"
all=0; malformed_rx=0
for s in sub1 sub2 sub3; do
    all=$((all + $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["received"])' "$E2E_TMP/$s.json")))
    malformed_rx=$((malformed_rx + $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["malformed"])' "$E2E_TMP/$s.json")))
done
echo "subscribers: received $all datagrams; topic 1 unique=$total (expected $want_delivered: $GOOD good events after" \
     "the frames + the IP-options, reassembled and padded events) dups=$dups corrupt=$corrupt; topic 2=$be_total" \
     "topic 77=$unknown_total malformed=$malformed_rx"
[ "$total" -eq "$want_delivered" ] || fail "subscribers received $total strict events, expected $want_delivered"
[ "$all" -eq "$want_delivered" ] || fail "subscribers received $all datagrams, expected $want_delivered"
[ $((dups + corrupt + be_total + unknown_total + malformed_rx)) -eq 0 ] || fail "something was delivered wrongly"
[ "$sq_received" -eq 2 ] || fail "the MoM's socket took $sq_received strict events, expected 2 (reassembled, padded)"
[ "$ttl_expired" -eq 1 ] || fail "the TTL 1 event was not dropped as ttl_expired ($ttl_expired)"
[ "$be_received" -eq 0 ] || fail "the MoM took a best-effort event with a bad checksum"
[ "$empty" -eq 1 ] || fail "the empty datagram was not counted as such ($empty)"
[ "$unknown" -eq 1 ] || fail "the unknown topic was not counted as such ($unknown)"
# The bad checksums stayed bad: the MoM's stack rejected the one it got (best-effort), the subscribers' stacks
# the two the router forwarded.
[ "$(stack_delta mom.Udp.InCsumErrors)" -eq 1 ] || fail "the MoM's stack did not reject the bad UDP checksum"
[ "$(stack_delta subs.Udp.InCsumErrors)" -eq 1 ] || fail "no subscriber rejected the forwarded bad UDP checksum"
[ "$(stack_delta subs.IpExt.InCsumErrors)" -eq 1 ] || fail "no subscriber rejected the forwarded bad IP checksum"
echo PASS
