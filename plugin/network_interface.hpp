// What the adapter needs to know about the host's interfaces: index, MAC, first IPv4 address, and which
// interface the kernel's routing table sends a subscriber's traffic through.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tempos/adapter.hpp"

namespace tempos::xdp {

struct InterfaceInfo {
    std::string name;
    int ifindex = 0;
    Mac mac{};                   // all zero for interfaces without a link-layer address
    std::optional<Ipv4> ipv4;    // the first IPv4 address, if any
};

// Errors: not_found (no such interface), system_error.
Result<InterfaceInfo> query_interface(const std::string& name);
Result<InterfaceInfo> query_interface(int ifindex);

// "10.0.0.1" and "02:00:00:00:00:0a", for messages.
std::string format_ip(const Ipv4& ip);
std::string format_ip(const Ipv6& ip);
std::string format_mac(const Mac& mac);

// A VLAN sub-interface: its lower device and its tag (network order, as in the frame).
struct VlanLink {
    int lower_ifindex = 0;
    std::uint16_t tpid = 0;  // ETH_P_8021Q or ETH_P_8021AD, host order
    std::uint16_t vid = 0;
};
// nullopt: `ifindex` is not a VLAN device. Errors: system_error (no such interface, netlink).
Result<std::optional<VlanLink>> query_vlan(int ifindex);

// net.ipv4.conf.<name>.forwarding of this network namespace; nullopt if it cannot be read.
std::optional<bool> ipv4_forwarding_enabled(const std::string& name);

// The kernel's route to `destination` (RTM_GETROUTE over netlink): its output interface, and the neighbour frames
// to it are sent to (the route's gateway, or `destination` itself on a directly connected network).
struct RouteNextHop {
    int ifindex = 0;
    Ipv4 neighbour{};
};
Result<RouteNextHop> route_next_hop(const Ipv4& destination);
Result<int> route_output_ifindex(const Ipv4& destination);
Result<int> route_output_ifindex(const Ipv6& destination);

}  // namespace tempos::xdp
