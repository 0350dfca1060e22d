# Sourced: builds the test network out of namespaces and always tears it down.
#
#   topo_create one-legged N   pub, mom and sub1..subN on one L2 segment (a bridge in its own namespace):
#                              the thesis's layout, the MoM answers with XDP_TX on its single interface.
#   topo_create two-legged N   pub and mom:eth0 on segment A, mom:eth1 and the subscribers on segment B:
#                              the MoM redirects from eth0 to eth1 through its DEVMAP.
#   topo_exec NODE CMD...      runs CMD in a node's namespace (NODE = pub, mom, sub1, ...)
#   topo_drop_report           prints every interface of the topology that dropped frames (rx/tx counters)
#   topo_destroy               removes everything (installed as an EXIT/INT/TERM trap by topo_create)
#
# After topo_create: TOPO_NS_<node> (namespace names), TOPO_IP_<node> (addresses), TOPO_MOM_IF (the MoM's
# ingress interface), TOPO_MOM_EGRESS_IF. Names carry a per-run id so parallel runs do not collide.
# Frames sent by XDP_TX/REDIRECT into a veth are dropped unless the receiving peer has XDP or GRO on. GRO alone
# was not enough on kernel 6.18 for native XDP_TX (docs/known-issues.md), so every bridge-side port also gets an
# XDP_PASS program (bpf/veth_peer_pass.bpf.c, built into $TEMPOS_BUILD_DIR/bpf); subscriber interfaces get GRO on.

TOPO_ID=${TOPO_ID:-t$$x$RANDOM}
TOPO_PEER_XDP_OBJ=${TOPO_PEER_XDP_OBJ:-${TEMPOS_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}/bpf/veth_peer_pass.bpf.o}
TOPO_NODES=()

_topo_ns() { echo "${TOPO_ID}-$1"; }

topo_exec() {
    local node=$1; shift
    ip netns exec "$(_topo_ns "$node")" "$@"
}

topo_destroy() {
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${TOPO_ID}-" || true); do
        # Kill what still runs inside (a MoM, a subscriber) before the namespace goes.
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}

topo_drop_report() {
    local node
    for node in "${TOPO_NODES[@]}"; do
        ip -n "$(_topo_ns "$node")" -s -j link show 2>/dev/null | python3 -c '
import json, sys
for link in json.load(sys.stdin):
    stats = link.get("stats64", {})
    rx, tx = stats.get("rx", {}).get("dropped", 0), stats.get("tx", {}).get("dropped", 0)
    if rx or tx:
        print("%s:%s: rx dropped %d, tx dropped %d" % (sys.argv[1], link["ifname"], rx, tx))' "$node"
    done
}

_topo_add_ns() {
    ip netns add "$(_topo_ns "$1")"
    ip -n "$(_topo_ns "$1")" link set lo up
    TOPO_NODES+=("$1")
}

# _topo_link NODE IFNAME SEGMENT ADDR/PREFIX: a veth from NODE's IFNAME to the bridge of SEGMENT.
_topo_link() {
    local node=$1 ifname=$2 seg=$3 addr=$4 port="p-$1-$2"
    local ns br
    ns=$(_topo_ns "$node"); br=$(_topo_ns lan)
    ip -n "$ns" link add "$ifname" type veth peer name "${port:0:15}" netns "$br"
    ip -n "$br" link set "${port:0:15}" master "$seg" up
    ip netns exec "$br" ethtool -K "${port:0:15}" gro on >/dev/null
    ip -n "$br" link set dev "${port:0:15}" xdpdrv obj "$TOPO_PEER_XDP_OBJ" sec xdp
    ip -n "$ns" addr add "$addr" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
    ip netns exec "$ns" ethtool -K "$ifname" gro on >/dev/null
}

topo_create() {
    local layout=$1 n=${2:-3} i
    if [ ! -r "$TOPO_PEER_XDP_OBJ" ]; then
        echo "topo_create: $TOPO_PEER_XDP_OBJ is missing: build the project first (or set TEMPOS_BUILD_DIR)" >&2
        return 2
    fi
    trap 'topo_destroy' EXIT
    trap 'topo_destroy; exit 130' INT
    trap 'topo_destroy; exit 143' TERM
    _topo_add_ns lan
    # A plain switch: with br_netfilter loaded, bridged IPv4 would be validated (and defragmented) on the way,
    # hiding malformed frames and fragments from the MoM. The sysctls exist only when br_netfilter is loaded.
    local nf
    for nf in iptables ip6tables arptables; do
        ip netns exec "$(_topo_ns lan)" sysctl -qw "net.bridge.bridge-nf-call-$nf=0" 2>/dev/null || true
    done
    ip -n "$(_topo_ns lan)" link add segA type bridge
    ip -n "$(_topo_ns lan)" link set segA up
    _topo_add_ns pub
    _topo_add_ns mom
    TOPO_NS_pub=$(_topo_ns pub); TOPO_NS_mom=$(_topo_ns mom)
    TOPO_IP_pub=10.77.0.1; TOPO_IP_mom=10.77.0.2
    _topo_link pub eth0 segA 10.77.0.1/24
    # With checksum offload a veth hands over UDP datagrams whose checksum field holds only the pseudo-header
    # sum (CHECKSUM_PARTIAL), which a receiver then trusts without checking. A frame off a real wire carries the
    # full checksum: computing it in software here is what lets the subscribers' kernels verify the MoM's
    # rewritten checksums (Udp InCsumErrors).
    ip netns exec "$TOPO_NS_pub" ethtool -K eth0 tx off >/dev/null
    _topo_link mom eth0 segA 10.77.0.2/24
    TOPO_MOM_IF=eth0; TOPO_MOM_EGRESS_IF=eth0
    local sub_seg=segA sub_net=10.77.0
    if [ "$layout" = two-legged ]; then
        ip -n "$(_topo_ns lan)" link add segB type bridge
        ip -n "$(_topo_ns lan)" link set segB up
        _topo_link mom eth1 segB 10.78.0.2/24
        TOPO_MOM_EGRESS_IF=eth1
        sub_seg=segB; sub_net=10.78.0
        # The publisher reaches segment B through the MoM (for the socket path).
        ip -n "$TOPO_NS_pub" route add 10.78.0.0/24 via 10.77.0.2
        ip netns exec "$TOPO_NS_mom" sysctl -qw net.ipv4.ip_forward=1
    elif [ "$layout" != one-legged ]; then
        echo "topo_create: unknown layout '$layout' (one-legged | two-legged)" >&2
        return 2
    fi
    for ((i = 1; i <= n; i++)); do
        _topo_add_ns "sub$i"
        printf -v "TOPO_NS_sub$i" '%s' "$(_topo_ns "sub$i")"
        printf -v "TOPO_IP_sub$i" '%s' "$sub_net.$((10 + i))"
        _topo_link "sub$i" eth0 "$sub_seg" "$sub_net.$((10 + i))/24"
        [ "$layout" = two-legged ] && ip -n "$(_topo_ns "sub$i")" route add 10.77.0.0/24 via 10.78.0.2
    done
    return 0
}
