# Sourced: builds the test network out of namespaces and always tears it down. The network itself is built by
# the test kit (testing/topology, the same code the C++ tests and tempos-bench use), through its CLI
# $TEMPOS_BUILD_DIR/bin/tempos-testkit; this file keeps the shell's names for it.
#
#   topo_create one-legged N [OPTION...]   pub, mom and sub1..subN on one L2 segment (a bridge in its own
#                              namespace): the thesis's layout, the MoM answers with XDP_TX on its single interface.
#   topo_create two-legged N [OPTION...]   pub and mom:eth0 on segment A, mom:eth1 and the subscribers on
#                              segment B: the MoM redirects from eth0 to eth1 through its DEVMAP.
#                              Built as a user's container host is (no program on the bridge ports, checksum
#                              offload on, IPv4 forwarding off); OPTIONs add one thing each: --peer-pass (the
#                              XDP_PASS program on the MoM's bridge ports, which native XDP into a veth needs),
#                              --publisher-tx-csum-off, --forwarding, --ipv6 (IPv6 addresses too)
#                              (testing/topology/layouts.hpp).
#   topo_exec NODE CMD...      runs CMD in a node's namespace (NODE = pub, mom, sub1, ...)
#   topo_drop_report           prints every interface of the topology that dropped frames (rx/tx counters)
#   topo_destroy               removes everything (installed as an EXIT/INT/TERM trap by topo_create)
#
# After topo_create: TOPO_NS_<node> (namespace names), TOPO_IP_<node> (addresses; with --ipv6 also
# TOPO_IP6_<node>), TOPO_MOM_IF (the MoM's
# ingress interface), TOPO_MOM_EGRESS_IF, TOPO_NODES. Names carry a per-run id so parallel runs do not collide.
# Addresses: testing/topology/world.hpp.

TOPO_ID=${TOPO_ID:-t$$x$RANDOM}
TOPO_TESTKIT=${TOPO_TESTKIT:-${TEMPOS_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}/bin/tempos-testkit}
TOPO_NODES=()

_topo_ns() { echo "${TOPO_ID}-$1"; }

topo_exec() {
    local node=$1; shift
    ip netns exec "$(_topo_ns "$node")" "$@"
}

topo_destroy() { "$TOPO_TESTKIT" topology destroy --id "$TOPO_ID" || true; }

topo_drop_report() { "$TOPO_TESTKIT" topology drop-report --id "$TOPO_ID" || true; }

topo_create() {
    local layout=$1 n=${2:-3} assignments
    shift 2 || shift $#
    if [ ! -x "$TOPO_TESTKIT" ]; then
        echo "topo_create: $TOPO_TESTKIT is missing: build the project first (or set TEMPOS_BUILD_DIR)" >&2
        return 2
    fi
    trap 'topo_destroy' EXIT
    trap 'topo_destroy; exit 130' INT
    trap 'topo_destroy; exit 143' TERM
    # On failure the CLI has removed what it built and said why.
    assignments=$("$TOPO_TESTKIT" topology create --layout "$layout" --subscribers "$n" --id "$TOPO_ID" "$@") || return 2
    eval "$assignments"
}
