// Which XDP mode to attach in, from the configured xdp_mode and what the interface is. `auto` chooses native
// only where native XDP_TX/redirect is known to deliver: a veth drops every frame sent into it by native XDP
// unless its peer runs a native XDP program, so on a veth auto asks the peer (device_xdp_info.hpp) and takes
// generic when the peer runs none or cannot be asked, saying why and how to get native. An explicit `native`
// stays the user's choice, with a warning when the interface is a veth whose peer is not known to receive.
#pragma once

#include <string>

#include "device_xdp_info.hpp"
#include "xdp_mode.hpp"

namespace tempos::xdp {

struct InterfaceFacts {
    std::string name;
    std::string driver;  // empty when unknown
    PeerXdp peer;        // meaningful for driver "veth" only
};

struct ModeChoice {
    // What XdpAttachment::attach is asked for: automatic (native, falling back to generic), native or generic.
    XdpMode attach = XdpMode::automatic;
    // One line for the log, empty when there is nothing to say; `warn`: at warning level.
    std::string message;
    bool warn = false;
};

// Native XDP_TX/redirect into this interface is received: not a veth, or a veth whose peer runs native XDP.
bool native_transmit_delivers(const InterfaceFacts& facts);

// Why native XDP into a veth is not known to deliver ("its peer p-mom-eth0 runs no native XDP program"), for logs.
std::string peer_problem(const InterfaceFacts& facts);

ModeChoice choose_xdp_mode(XdpMode requested, const InterfaceFacts& facts);

// The facts of one interface of this namespace: its driver and, for a veth, its peer.
InterfaceFacts interface_facts(const std::string& name, int ifindex);

}  // namespace tempos::xdp
