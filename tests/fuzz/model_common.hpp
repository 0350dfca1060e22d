// What the two reference models share (router_model.hpp, fanout_model.hpp): a route's member and the kernel's FIB
// answer, the bytes, the Ethernet/VLAN and IPv6 parsing rules (docs/ipv6.md; the fan-out parses "exactly the
// router's rules", docs/fanout.md) and the rewrite of an event toward a member: one model of each rule, so the
// fan-out's IPv6 copies are the router's IPv6 rewrite. Written from the documents, not from the BPF code.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frames/packet_builder.hpp"  // Bytes, MacAddr, Ipv4Addr, Ipv6Addr

namespace tempos::fuzz {

using testkit::Bytes;
using testkit::Ipv4Addr;
using testkit::Ipv6Addr;
using testkit::MacAddr;

// A reference model's base: the world it was given (its constants and maps); the rules and the state are the
// derived model's.
template <typename World>
class ModelOver {
public:
    explicit ModelOver(World world) : world_(std::move(world)) {}
    const World& world() const { return world_; }

protected:
    World world_;
};

struct Member {
    Ipv4Addr ip;
    std::uint16_t port;          // host order
    std::optional<MacAddr> mac;  // none: the program asks the FIB (FibAnswer)
    MacAddr src_mac{};
    std::uint32_t ifindex = 0;   // egress interface; 0: the one the frame arrived on
    std::optional<Ipv6Addr> ip6 = std::nullopt;  // an IPv6 member (ip unused): only IPv6 events are routed to it
};

// What the kernel's FIB and neighbour table answer for a MAC-less member's address: the egress interface's
// ifindex and MAC and, with a resolved neighbour, the member's MAC. The lookup is made from the member's
// interface, else the ingress one, and answers only from `lookup_ifindex` (forwarding on there). The FIB checks
// the route's `mtu` before the neighbour: a longer datagram is "fragmentation needed", resolved or not.
struct FibAnswer {
    std::optional<MacAddr> mac;  // none: a route but no neighbour
    MacAddr src_mac;
    std::uint32_t ifindex;
    std::uint32_t lookup_ifindex;
    std::size_t mtu;
};

inline constexpr std::uint16_t kEthIpv4 = 0x0800;
inline constexpr std::uint16_t kEthIpv6 = 0x86dd;

std::uint16_t get16(const Bytes& b, std::size_t at);
void put16(Bytes& b, std::size_t at, std::uint16_t v);
Ipv4Addr addr_at(const Bytes& b, std::size_t at);
Ipv6Addr addr6_at(const Bytes& b, std::size_t at);
MacAddr mac_at(const Bytes& b, std::size_t at);

// The folded, not complemented sum of a UDP datagram's pseudo-header: what a CHECKSUM_PARTIAL sender leaves in
// the checksum field (docs/known-issues.md).
std::uint16_t pseudo_header_sum(const Ipv4Addr& src, const Ipv4Addr& dst, std::uint16_t udp_len);
std::uint16_t pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint16_t udp_len);

// A checksum field after the bytes of `ranges` (offset, even length) changed from what `before` holds there to
// what `after` holds: RFC 1624 eqn. 3 over 16-bit words, HC' = ~(~HC + ~m + m'), folded once at the end.
std::uint16_t updated_checksum(std::uint16_t hc, const Bytes& before, const Bytes& after,
                               std::initializer_list<std::pair<std::size_t, std::size_t>> ranges);

// Ethernet, then up to two VLAN tags (802.1Q or 802.1ad each): where L3 starts and its ethertype; none for a frame
// cut inside L2 (the router's "not IPv4"), `why` says where.
struct L2 {
    std::size_t l3;
    std::uint16_t ethertype;
};
std::optional<L2> parse_l2(const Bytes& frame, std::string& why);

// An IPv6 event as the rules accept it (docs/ipv6.md).
struct Ipv6Event {
    std::size_t l3 = 0, l4 = 0;
    std::size_t payload_len = 0, udp_len = 0;
    Ipv6Addr src{}, dst{};
    std::uint8_t topic = 0, hop_limit = 0;
    std::uint16_t udp_check = 0;
    std::size_t ip_len() const { return 40 + payload_len; }
};
// The IPv6 header at l3, its extension headers and UDP to `mom_port`: the event, or none with *reason (a
// tempos_pass_reason) and `why` set.
std::optional<Ipv6Event> parse_ipv6(const Bytes& frame, std::size_t l3, std::uint16_t mom_port, int& reason,
                                    std::string& why);

// How the UDP checksum field of an event is updated by a rewrite: incrementally (RFC 1624; an IPv4 0, "none",
// stays 0, and a result 0 is sent as 0xffff), or for a CHECKSUM_PARTIAL datagram the new pseudo-header sum
// (generic mode: the kernel completes it) or the complete checksum computed in full (native mode).
enum class UdpCheck { incremental, partial_generic, partial_native };

// The field after `out`'s addresses and destination port changed from (old_src, old_dst, old_port) to
// (new_src, new_dst, new_port); `out` holds the rewritten datagram at l4 (for partial_native).
std::uint16_t rewritten_udp_check(const Bytes& out, std::size_t l4, std::size_t udp_len, std::uint16_t udp_check,
                                  UdpCheck mode, const Ipv4Addr& old_src, const Ipv4Addr& new_src,
                                  const Ipv4Addr& old_dst, const Ipv4Addr& new_dst, std::uint16_t old_port,
                                  std::uint16_t new_port);
std::uint16_t rewritten_udp_check(const Bytes& out, std::size_t l4, std::size_t udp_len, std::uint16_t udp_check,
                                  UdpCheck mode, const Ipv6Addr& old_src, const Ipv6Addr& new_src,
                                  const Ipv6Addr& old_dst, const Ipv6Addr& new_dst, std::uint16_t old_port,
                                  std::uint16_t new_port);

// The IPv6 event `ev` of `frame` rewritten toward a member: both MACs, the source `new_src`, the destination
// `dst` and port, the hop limit one lower and the UDP checksum per `mode` (never 0); tags as in `frame`.
Bytes rewrite_ipv6(const Bytes& frame, const Ipv6Event& ev, const MacAddr& dst_mac, const MacAddr& src_mac,
                   const Ipv6Addr& new_src, const Ipv6Addr& dst, std::uint16_t port, UdpCheck mode);

}  // namespace tempos::fuzz
