// What the adapter needs to know about the host's interfaces: index, MAC, first IPv4 address, and which
// interface the kernel's routing table sends a subscriber's traffic through.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

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

// A subscriber's or a next hop's address, of either family.
using IpAddress = std::variant<Ipv4, Ipv6>;
// A subscriber's address: its IPv6 one if it has one (tempos/adapter.hpp), else its IPv4.
IpAddress endpoint_address(const Endpoint& endpoint);

// "10.0.0.1", "2001:db8::1" and "02:00:00:00:00:0a", for messages.
std::string format_ip(const Ipv4& ip);
std::string format_ip(const Ipv6& ip);
std::string format_ip(const IpAddress& ip);
std::string format_mac(const Mac& mac);

// A VLAN sub-interface: its lower device and its tag (network order, as in the frame).
struct VlanLink {
    int lower_ifindex = 0;
    std::uint16_t tpid = 0;  // ETH_P_8021Q or ETH_P_8021AD, host order
    std::uint16_t vid = 0;
};
// nullopt: `ifindex` is not a VLAN device. Errors: system_error (no such interface, netlink).
Result<std::optional<VlanLink>> query_vlan(int ifindex);

// The kernel's route to `destination` (RTM_GETROUTE over netlink): its output interface, and the neighbour frames
// to it are sent to (the route's gateway, or `destination` itself on a directly connected network).
// The gateway has the destination's family (an IPv4 route via an IPv6 gateway, RTA_VIA, is not followed).
struct RouteNextHop {
    int ifindex = 0;
    IpAddress neighbour;
};
Result<RouteNextHop> route_next_hop(const IpAddress& destination);
Result<int> route_output_ifindex(const IpAddress& destination);

}  // namespace tempos::xdp
