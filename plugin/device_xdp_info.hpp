// What the kernel says about an interface's XDP transmit path: its driver, for a veth whether its peer runs a
// native XDP program (a veth drops every frame sent into it by native XDP_TX/XDP_REDIRECT unless it does), and
// the transmit errors and drops the device counts. Read through ethtool ioctls and rtnetlink (libmnl); none
// needs a capability beyond CAP_NET_ADMIN (the peer's namespace is asked by its nsid, IFLA_TARGET_NETNSID).
#pragma once

#include <cstdint>
#include <string>

#include "tempos/status.hpp"

namespace tempos::xdp {

struct PeerXdp {
    enum class State {
        native,   // the peer runs a native (driver mode) XDP program
        none,     // the peer runs none (or only a generic one, which native XDP into the veth does not reach)
        unknown,  // the peer could not be asked (another namespace this process may not query, ...)
    };
    State state = State::unknown;
    std::string peer;  // the peer's name ("p-mom-eth0", or "ifindex 7 in netns id 2"); empty when unknown
    std::string why;   // for State::unknown: why not
};

// The driver name ETHTOOL_GDRVINFO reports ("veth", "mlx5_core", ...).
Result<std::string> device_driver(const std::string& interface);

// For a veth: its peer's XDP state (RTM_GETLINK on the interface for IFLA_LINK/IFLA_LINK_NETNSID, then on the
// peer, in its namespace when it is another one).
PeerXdp veth_peer_xdp(int ifindex);

struct DeviceDrops {
    // Sum of the driver's ethtool statistics about failed XDP transmits (names holding "xdp" and "err":
    // veth rx_queue_N_xdp_tx_errors (XDP_TX) and tx_queue_N_xdp_xmit_errors (redirected into it), a NIC's
    // rx_xdp_tx_err, ...): frames the router handed to the device that the device dropped.
    std::uint64_t xdp_errors = 0;
    // The interface's tx_dropped (IFLA_STATS64): where a veth counts frames redirected into it while its peer
    // cannot receive them (and any other transmit drop of the device).
    std::uint64_t tx_dropped = 0;
    bool veth = false;  // its peer's drops are read with veth_peer_drops
};
Result<DeviceDrops> device_drops(const std::string& interface, int ifindex);

// A veth's peer and its tx_dropped: the frames sent into the veth that its receive ring (or backlog) had no room
// for, which the kernel counts on the sender only. A peer in another namespace needs CAP_NET_ADMIN
// (veth_peer_counters.hpp).
struct PeerDrops {
    std::string peer;  // the peer's name in its own namespace
    std::uint64_t tx_dropped = 0;
};
Result<PeerDrops> veth_peer_drops(int ifindex);

}  // namespace tempos::xdp
