// The one synthetic world of the frames the tests and tempos-bench build without a real network: the publisher,
// the MoM and its subscribers, their addresses and MACs, and the topics of the router fixtures' standard routes
// (router_fixtures.hpp). Scenarios in real namespaces use the addresses of their topology instead.
#pragma once

#include <cstdint>

#include "frames/packet_builder.hpp"
#include "topology/world.hpp"  // kMomPort

namespace tempos::testkit::world {

inline const MacAddr kPublisherMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline const MacAddr kMomMac{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};
inline const Ipv4Addr kPublisherIp{10, 0, 0, 7};
inline const Ipv4Addr kPolicedPublisherIp{10, 0, 0, 8};  // its bucket is spent: over the publisher limit
inline const Ipv4Addr kMomIp{10, 0, 0, 1};
// The MoM's own destinations besides kMomMac/kMomIp (router_fixtures.hpp standard_local_destinations): a second
// address of its interface (listen 0.0.0.0) and the near-zero address of the checksum-carry row.
inline const Ipv4Addr kMomIpAlias{10, 0, 0, 2};
inline const Ipv4Addr kMomIpNearZero{0, 0, 0, 1};
// Not the MoM's: another host's MAC on the segment, and a local address the MoM does not listen on.
inline const MacAddr kOtherHostMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x77};
inline const Ipv4Addr kNotListenedIp{10, 0, 0, 3};
inline const MacAddr kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline const Ipv4Addr kBroadcastIp{255, 255, 255, 255};
inline constexpr std::uint16_t kPublisherPort = 40000;

struct Subscriber {
    Ipv4Addr ip;
    std::uint16_t port;
    MacAddr mac;
};
inline const Subscriber kSubA{{10, 0, 1, 10}, 5001, {0x02, 0xaa, 0, 0, 0, 0x0a}};
inline const Subscriber kSubB{{10, 0, 1, 11}, 5002, {0x02, 0xaa, 0, 0, 0, 0x0b}};
inline const Subscriber kSubC{{10, 0, 1, 12}, 5003, {0x02, 0xaa, 0, 0, 0, 0x0c}};
inline const Subscriber kSubFar{{192, 168, 50, 2}, 6000, {0x02, 0xbb, 0, 0, 0, 0x02}};
inline const Subscriber kSubOnes{{255, 255, 255, 255}, 0xffff, {0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}};
inline const MacAddr kOtherNicMac{0x02, 0x00, 0x00, 0x00, 0x01, 0xfe};
inline const Ipv4Addr kUnroutedIp{10, 99, 0, 5};

// Topics of the standard route set (router_fixtures.hpp).
inline constexpr std::uint8_t kTopicSingle = 1;      // [A], XDP_TX
inline constexpr std::uint8_t kTopicThree = 2;       // [A, B, C]
inline constexpr std::uint8_t kTopicFib = 3;         // one member without MAC, no route to it -> FIB pass
inline constexpr std::uint8_t kTopicOtherNic = 4;    // [Far] via the second interface in egress_ports -> XDP_REDIRECT
inline constexpr std::uint8_t kTopicBestEffort = 5;  // never in topic_routes
inline constexpr std::uint8_t kTopicNoEgress = 6;    // [Far] via an ifindex missing from egress_ports
inline constexpr std::uint8_t kTopicIngressNic = 7;  // [A] with ifindex == ingress (lo) -> XDP_TX
inline constexpr std::uint8_t kTopicOnes = 8;        // all-ones address and port: forces checksum carries
inline constexpr std::uint8_t kTopicBadRoute = 9;    // inner map written with count 0, bypassing RouteTable
inline constexpr std::uint8_t kTopicFanout = 10;     // not in topic_routes, marked as served by the TC fan-out
inline constexpr std::uint8_t kTopicStrictSocket = 11; // strict but not routed by XDP: passes, never best-effort CPUs
inline constexpr std::uint8_t kTopicPoliced = 12;      // best-effort, its topic bucket spent: over its rate limit
// Egress tagging (bpf/egress_vlan.h): members behind VLAN sub-interfaces, whose ifindexes only egress_vlans knows.
inline constexpr std::uint8_t kTopicVlanIngressNic = 20;  // [A] via VLAN 100 (802.1Q) on the ingress device -> XDP_TX
inline constexpr std::uint8_t kTopicVlanOtherNic = 21;    // [Far] via VLAN 200 (802.1ad) on the second interface
// One member without MAC on the second interface's subnet, never resolved; its FIB lookup is made there (forwarding
// on): too_big over the interface's MTU (the FIB checks it before the neighbour), fib otherwise.
inline constexpr std::uint8_t kTopicFibSecondNic = 22;
inline constexpr std::uint8_t kTopicUnknown = 200;
inline constexpr std::uint32_t kMissingIfindex = 4242;
inline constexpr std::uint32_t kVlanOnIngressIfindex = 4300;  // egress_vlans: lower = the ingress device (lo)
inline constexpr std::uint32_t kVlanOnSecondIfindex = 4301;   // egress_vlans: lower = the second interface
inline constexpr std::uint16_t kEgressVid = 100;              // of kVlanOnIngressIfindex, 802.1Q
inline constexpr std::uint16_t kSecondEgressVid = 200;        // of kVlanOnSecondIfindex, 802.1ad
inline const Ipv4Addr kSecondNicNeighbourIp{10, 77, 0, 9};   // on the test namespace's veth subnet, no neighbour
// MTU of the second interface (the test namespace's veth).
inline constexpr std::size_t kSecondInterfaceMtu = 1500;
inline constexpr std::uint32_t kLoopbackIfindex = 1;

// IPv6 (docs/ipv6.md): the same hosts with documentation-prefix addresses.
inline const Ipv6Addr kPublisherIp6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07};
// Its bucket is spent: over the publisher limit (as kPolicedPublisherIp).
inline const Ipv6Addr kPolicedPublisherIp6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08};
// kPolicedPublisherIp as an IPv4-mapped IPv6 address (::ffff:10.0.0.8): the same publisher, the same bucket.
inline const Ipv6Addr kPolicedPublisherIp4Mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 8};
inline const Ipv6Addr kMomIp6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
inline const Ipv6Addr kMomIp6Alias{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};  // listen [::]
inline const Ipv6Addr kNotListenedIp6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03};
inline const Ipv6Addr kAllNodesIp6{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
inline const MacAddr kAllNodesMac{0x33, 0x33, 0, 0, 0, 0x01};
inline const Ipv6Addr kUnroutedIp6{0x20, 0x01, 0x0d, 0xb8, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05};
struct Subscriber6 {
    Ipv6Addr ip;
    std::uint16_t port;
    MacAddr mac;
};
inline const Subscriber6 kSubA6{{0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a}, 5001, kSubA.mac};
inline const Subscriber6 kSubB6{{0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b}, 5002, kSubB.mac};
inline const Subscriber6 kSubOnes6{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff},
                                   0xffff, kSubOnes.mac};
inline constexpr std::uint8_t kTopicSingle6 = 40;      // [A6], XDP_TX
inline constexpr std::uint8_t kTopicTwo6 = 41;         // [A6, B6]
inline constexpr std::uint8_t kTopicFib6 = 42;         // one IPv6 member without MAC, no route to it -> FIB pass
inline constexpr std::uint8_t kTopicOnes6 = 43;        // all-ones address and port: forces checksum carries
inline constexpr std::uint8_t kTopicVlanIngressNic6 = 44;  // [A6] via VLAN 100 (802.1Q) on the ingress device

// IPv6 extension headers as PacketBuilder::ipv6_ext takes them: their numbers, and bodies (6 + 8n bytes after the
// next header and length bytes) of PadN options, a routing header's type and segments left then its reserved
// word, a fragment header's offset, flags and identification.
namespace ipv6_ext {
inline constexpr std::uint8_t kHopByHop = 0;
inline constexpr std::uint8_t kRouting = 43;
inline constexpr std::uint8_t kFragment = 44;
inline constexpr std::uint8_t kDestinationOptions = 60;
inline const Bytes kPad6{1, 4, 0, 0, 0, 0};
inline const Bytes kPad14{1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
inline const Bytes kRoutingDone{4, 0, 0, 0, 0, 0};    // type 4 (segment routing), segments left 0
inline const Bytes kRoutingLeft{4, 1, 0, 0, 0, 0};    // segments left 1: the MoM is not the final destination
inline const Bytes kFragmentFirst{0, 1, 0, 0, 0, 1};  // offset 0, M set, identification 1
}  // namespace ipv6_ext

// A valid strict event for `topic` as the publisher sends it to the MoM: the topic byte, then "hello world".
PacketBuilder event(std::uint8_t topic, std::uint16_t mom_port = kMomPort);

// The same event as the router must emit it towards `sub` (the MoM's egress MAC kMomMac unless given).
PacketBuilder forwarded(PacketBuilder event, const Subscriber& sub, const Ipv4Addr& new_src = kMomIp,
                        const MacAddr& src_mac = kMomMac);

// The IPv6 event: from kPublisherIp6 to kMomIp6, hop limit 64, the same payload.
PacketBuilder event6(std::uint8_t topic, std::uint16_t mom_port = kMomPort);
PacketBuilder forwarded(PacketBuilder event, const Subscriber6& sub, const Ipv6Addr& new_src = kMomIp6,
                        const MacAddr& src_mac = kMomMac);

}  // namespace tempos::testkit::world

namespace tempos::testkit {

// The 64-byte event the benchmarks send (tempos-bench prog times it, the live-frames generator transmits it):
// TTL 255 (the budget of repeated runs on one rewritten frame), from port 40000, the topic byte then letters,
// both checksums valid.
PacketBuilder bench_event(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv4Addr& src_ip,
                          const Ipv4Addr& dst_ip, std::uint16_t dst_port, std::uint8_t topic);
// Its IPv6 form: the same payload (the IPv6 header is 20 bytes longer: an 84-byte frame).
PacketBuilder bench_event6(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv6Addr& src_ip,
                           const Ipv6Addr& dst_ip, std::uint16_t dst_port, std::uint8_t topic);

}  // namespace tempos::testkit
