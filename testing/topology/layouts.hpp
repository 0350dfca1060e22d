// The live layouts (addresses in world.hpp). Each first removes stale topologies of killed runs, builds in
// namespaces "<id>-<node>", and on failure removes what it built.
#pragma once

#include <string>

#include "tempos/status.hpp"
#include "topology/topology.hpp"

namespace tempos::testkit {

// pub, mom and sub1..subN on one L2 segment (bridge segA): the MoM answers with XDP_TX on its single
// interface (eth0). pub:eth0 computes its UDP checksums in software (set_tx_checksum).
Result<Topology> one_legged(int subscribers, const std::string& id = Topology::new_id());

// pub and mom:eth0 on segment A, mom:eth1 and the subscribers on segment B: the MoM redirects from eth0 to
// eth1 through its DEVMAP. The MoM forwards IPv4, and pub and the subscribers route to each other through it
// (the socket path).
Result<Topology> two_legged(int subscribers, const std::string& id = Topology::new_id());

// tempos-bench's point-to-point layout (world::point_to_point): no bridge, no peer program; the MoM reaches
// each subscriber through its own interface (the adapter's two-legged mode, bpf_redirect_map); GRO at every end.
struct PointToPointOptions {
    bool with_sub2 = false;
    bool with_direct = false;
    int queues = 1;  // rx/tx queues of every veth (veth picks the receive queue by the transmitting CPU)
};
Result<Topology> point_to_point(const PointToPointOptions& options, const std::string& id = Topology::new_id());

}  // namespace tempos::testkit
