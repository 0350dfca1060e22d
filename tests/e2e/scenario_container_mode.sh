#!/usr/bin/env bash
# Scenario 15: the MoM in a container, its veth a port of a bridge in another namespace, as a user's host has it
# (no program on the bridge ports, checksum offload on, forwarding off). CASE:
#  auto         xdp_mode auto: the peer runs no XDP program, so auto attaches generic (native XDP_TX into this
#               veth would be dropped) and says why; every strict event delivered through the kernel.
#  auto-peer    the same with the peer program on the MoM's bridge port: auto attaches native.
#  native-lost  xdp_mode native without the peer program: the user's explicit choice, warned about; the veth
#               drops what XDP_TX sends into it, and tempos_device_xdp_errors_total counts every one of them.
. "$(dirname "$0")/lib.sh"
N=${N:-3000}
CASE=${CASE:-auto}
case $CASE in
    auto) E2E_XDP_MODE=auto; setup one-legged 3; expected_mode=generic ;;
    auto-peer) E2E_XDP_MODE=auto; setup one-legged 3 --peer-pass; expected_mode=native ;;
    native-lost) E2E_XDP_MODE=native; setup one-legged 3 --without-peer-pass; expected_mode=native ;;
    *) fail "unknown CASE $CASE" ;;
esac

start_mom_topics "1 strict --mac sub1 sub2 sub3"
for s in sub1 sub2 sub3; do start_sub $s "$N" 20; done
mark_stack_counters sub1 sub2 sub3
publish 1 "$N" 20000
end_traffic
read -r total min max dups corrupt <<<"$(topic_totals 1 sub1 sub2 sub3)"
metrics kernel=tempos_kernel_packets_total socket=tempos_adapter_sent_total \
    mode="tempos_adapter_mode\\{adapter=\"xdp\",mode=\"$expected_mode\"\\}" \
    device_errors="tempos_device_xdp_errors_total\\{adapter=\"xdp\",interface=\"$TOPO_MOM_IF\"\\}"
split_bound=$(kernel_routing_cpus 1)
stop_mom
choice=$(grep -o "xdp_mode [a-z]*[: ].*" "$E2E_TMP/mom.log" | head -n 1 || true)
echo "case $CASE: mode $expected_mode reported $mode; log: ${choice:-nothing about the choice}"
echo "delivered=$total of $N ($min..$max, bound $split_bound), duplicates $dups, corrupt $corrupt; kernel $kernel," \
     "socket $socket; device XDP errors $device_errors; InCsumErrors +$csum; MoM InDatagrams +$mom_in"
[ "$mode" -eq 1 ] || fail "/metrics does not report mode $expected_mode"
[ "$dups" -eq 0 ] && [ "$corrupt" -eq 0 ] || fail "duplicated or changed events"
[ "$kernel" -eq "$N" ] || fail "the kernel routed $kernel of $N"
[ "$socket" -eq 0 ] || fail "$socket events took the socket path"
case $CASE in
    auto)
        grep -q "xdp_mode auto: generic on veth $TOPO_MOM_IF: its peer p-mom-eth0 (netns id [0-9]*) runs no native XDP program" \
            "$E2E_TMP/mom.log" || fail "the log does not say why auto chose generic"
        ;;
    auto-peer)
        grep -q "xdp_mode auto: native on veth $TOPO_MOM_IF (its peer p-mom-eth0 (netns id [0-9]*) runs a native XDP program" \
            "$E2E_TMP/mom.log" || fail "the log does not say why auto chose native"
        ;;
    native-lost)
        grep -q "\[warning\] xdp_mode native on veth $TOPO_MOM_IF: its peer p-mom-eth0 (netns id [0-9]*) runs no native XDP" \
            "$E2E_TMP/mom.log" || fail "no warning about native on a veth whose peer cannot receive"
        # Offered = delivered + counted drops: what the kernel routed and the subscribers did not get, the device
        # counted as dropped.
        [ "$((total + device_errors))" -eq "$N" ] || fail "$total delivered + $device_errors counted by the device != $N"
        echo PASS
        exit 0
        ;;
esac
[ "$total" -eq "$N" ] || fail "delivered $total of $N"
((max - min <= split_bound)) || fail "round-robin split $min..$max off by more than $split_bound"
[ "$device_errors" -eq 0 ] || fail "the device counted $device_errors XDP transmit errors"
[ "$csum" -eq 0 ] || fail "subscribers counted UDP checksum errors"
((mom_in < N)) || fail "the MoM's socket received the strict events"
echo PASS
