// The live layouts (addresses in world.hpp). Each first removes stale topologies of killed runs, builds in
// namespaces "<id>-<node>", and on failure removes what it built.
#pragma once

#include <string>

#include "tempos/status.hpp"
#include "topology/topology.hpp"

namespace tempos::testkit {

// The bridged layouts are built as a user's container host is by default: no program on the bridge ports,
// checksum offload on (a veth sender's datagrams are CHECKSUM_PARTIAL), IPv4 forwarding off. A scenario about
// one of these asks for it:
struct BridgedOptions {
    // The XDP_PASS program on the MoM's bridge port(s): what native XDP_TX/redirect into a veth needs
    // (docs/known-issues.md). Every scenario running the router in native mode asks for it.
    bool peer_pass = false;
    // pub:eth0 computes its UDP checksums in software (`ethtool -K tx off`): complete checksums in its frames.
    bool publisher_tx_csum_off = false;
    // net.ipv4.ip_forward=1 in the MoM's namespace.
    bool forwarding = false;
    // Every interface gets its IPv6 address of world::bridged too (nodad), and the two-legged routes their IPv6
    // counterparts: the IPv6 scenarios (docs/ipv6.md).
    bool ipv6 = false;
};

// pub, mom and sub1..subN on one L2 segment (bridge segA): the MoM answers with XDP_TX on its single
// interface (eth0).
Result<Topology> one_legged(int subscribers, const BridgedOptions& options = {},
                            const std::string& id = Topology::new_id());

// pub and mom:eth0 on segment A, mom:eth1 and the subscribers on segment B: the MoM redirects from eth0 to
// eth1 through its DEVMAP. pub and the subscribers route to each other through the MoM (IPv4 forwarding in the
// MoM only with options.forwarding: the MoM's own sends, the socket path, need none).
Result<Topology> two_legged(int subscribers, const BridgedOptions& options = {},
                            const std::string& id = Topology::new_id());

// tempos-bench's point-to-point layout (world::point_to_point): no bridge, no peer program; the MoM reaches
// each subscriber through its own interface (the adapter's two-legged mode, bpf_redirect_map); GRO at every end.
struct PointToPointOptions {
    bool with_sub2 = false;
    bool with_direct = false;
    int queues = 1;  // rx/tx queues of every veth (veth picks the receive queue by the transmitting CPU)
    bool ipv6 = false;  // the MoM's lines also get the IPv6 addresses of world::point_to_point (not the direct one)
};
Result<Topology> point_to_point(const PointToPointOptions& options, const std::string& id = Topology::new_id());

}  // namespace tempos::testkit
