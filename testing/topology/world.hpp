// The addresses of every live layout the tests, the e2e scenarios, the demo and tempos-bench build, in one
// place (layouts.hpp builds them; config/demo.toml and the e2e scenarios' configs are written for them).
// MAC addresses are the kernel's random veth addresses: ask the topology (Topology::mac).
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tempos::testkit::world {

// "10.77.0.1" as bytes, at compile time.
constexpr std::array<std::uint8_t, 4> ipv4_bytes(std::string_view text) {
    std::array<std::uint8_t, 4> bytes{};
    std::size_t part = 0;
    for (const char c : text) {
        if (c == '.') {
            ++part;
        } else {
            bytes[part] = static_cast<std::uint8_t>(bytes[part] * 10 + (c - '0'));
        }
    }
    return bytes;
}

// "fd77::1" as bytes (zero when it is not an IPv6 address).
inline std::array<std::uint8_t, 16> ipv6_bytes(const std::string& text) {
    std::array<std::uint8_t, 16> bytes{};
    (void)inet_pton(AF_INET6, text.c_str(), bytes.data());
    return bytes;
}

// The MoM's UDP port in every world: the live layouts, the synthetic frames (frames/frame_world.hpp) and the
// configurations the MoM runner writes (also the thesis program's literal port).
inline constexpr std::uint16_t kMomPort = 9998;

// Nodes are network namespaces "<id>-<node>"; every node's first interface is eth0.
inline constexpr const char* kPub = "pub";
inline constexpr const char* kMom = "mom";
inline constexpr const char* kLan = "lan";  // the bridges' namespace
// "sub1", "sub2", ...
inline std::string subscriber(int n) { return "sub" + std::to_string(n); }

// one_legged / two_legged: the e2e scenarios, scripts/demo.sh and `tempos-bench peers`.
//   segment A (bridge segA): pub:eth0 .1, mom:eth0 .2            one-legged: sub<N>:eth0 at .(10+N) too
//   segment B (bridge segB): mom:eth1 .2, sub<N>:eth0 .(10+N)     two-legged only
namespace bridged {
inline constexpr const char* kSegmentA = "10.77.0.0/24";
inline constexpr const char* kSegmentB = "10.78.0.0/24";
inline constexpr const char* kPubIp = "10.77.0.1";
inline constexpr const char* kMomIp = "10.77.0.2";
inline constexpr const char* kMomEgressIp = "10.78.0.2";  // two-legged: mom:eth1
inline constexpr const char* kMomIf = "eth0";              // the MoM's ingress (and one-legged egress)
inline constexpr const char* kMomEgressIf = "eth1";        // two-legged egress
inline std::string subscriber_ip(bool two_legged, int n) {
    return std::string(two_legged ? "10.78.0." : "10.77.0.") + std::to_string(10 + n);
}
// With IPv6 (BridgedOptions::ipv6, docs/ipv6.md), each of those interfaces also has a unique-local address (nodad:
// usable at once), the segments fd77::/64 (A) and fd78::/64 (B), host parts as in IPv4 (read as hex).
inline constexpr const char* kSegmentA6 = "fd77::/64";
inline constexpr const char* kSegmentB6 = "fd78::/64";
inline constexpr const char* kPubIp6 = "fd77::1";
inline constexpr const char* kMomIp6 = "fd77::2";
inline constexpr const char* kMomEgressIp6 = "fd78::2";
inline std::string subscriber_ip6(bool two_legged, int n) {
    return std::string(two_legged ? "fd78::" : "fd77::") + std::to_string(10 + n);
}
}  // namespace bridged

// point_to_point: tempos-bench's throughput, latency and fan-out runs. One veth pair per line, no bridge:
//   pub:eth0 10.77.0.1 ──── mom:eth0 10.77.0.2          (events in; the XDP router attaches here)
//                           mom:eth1 10.78.0.2 ──── sub1:eth0 10.78.0.11
//                           mom:eth2 10.79.0.2 ──── sub2:eth0 10.79.0.12   (with_sub2)
//   pub:eth1 10.76.0.1 ──────────────────────────── sub1:eth1 10.76.0.11   (with_direct: no MoM at all)
namespace point_to_point {
inline constexpr const char* kPubNet = "10.77.0.0/24";
inline constexpr const char* kSub1Net = "10.78.0.0/24";
inline constexpr const char* kSub2Net = "10.79.0.0/24";
inline constexpr const char* kPubIp = "10.77.0.1";
inline constexpr const char* kMomIp = "10.77.0.2";
inline constexpr const char* kMomSub1Ip = "10.78.0.2";
inline constexpr const char* kSub1Ip = "10.78.0.11";
inline constexpr const char* kMomSub2Ip = "10.79.0.2";
inline constexpr const char* kSub2Ip = "10.79.0.12";
inline constexpr const char* kPubDirectIp = "10.76.0.1";
inline constexpr const char* kSub1DirectIp = "10.76.0.11";
// With IPv6 (PointToPointOptions::ipv6): pub:eth0, mom:eth0, mom:eth1, sub1:eth0, mom:eth2 and sub2:eth0 also get
// these unique-local addresses (nodad), one /64 per line, host parts as in IPv4 (read as hex).
inline constexpr const char* kPubIp6 = "fd77::1";
inline constexpr const char* kMomIp6 = "fd77::2";
inline constexpr const char* kMomSub1Ip6 = "fd78::2";
inline constexpr const char* kSub1Ip6 = "fd78::11";
inline constexpr const char* kMomSub2Ip6 = "fd79::2";
inline constexpr const char* kSub2Ip6 = "fd79::12";
}  // namespace point_to_point

// enter_test_netns(): the BPF program tests' private namespace.
namespace test_netns {
inline constexpr const char* kVethA = "tmpsx0";
inline constexpr const char* kVethB = "tmpsx1";
inline constexpr const char* kVethAAddress = "10.77.0.1/24";
}  // namespace test_netns

}  // namespace tempos::testkit::world
