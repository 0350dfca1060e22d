// The TC fan-out program's frames as data: the shapes it must fan out and the frames it must leave to the stack.
// One list for its BPF tests (tests/bpf/fanout_program_test.cpp) and the seed corpus of its differential fuzzer
// (tests/fuzz/fanout_fuzzer.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "frames/packet_builder.hpp"

namespace tempos::testkit {

// A valid event for `topic` as the fan-out tests send it: the synthetic world's publisher to the MoM (frame_world.hpp),
// TTL 64, the topic byte then "fan out".
PacketBuilder fanout_event(std::uint8_t topic);

// The same event with `tot_len` bytes of IPv4 datagram (the payload filled up behind the topic byte).
PacketBuilder fanout_event_of_length(std::uint8_t topic, std::size_t tot_len);

// A frame shape the program must accept: `shape` turns fanout_event(topic) into it. Every accepted shape leaves
// untagged toward an untagged member (docs/config.md#vlan).
struct FanoutShape {
    const char* name;
    void (*shape)(PacketBuilder& event, std::uint8_t topic);
};
const std::vector<FanoutShape>& fanout_accepted_shapes();

// Frames to the MoM's port that are not events of `topic` for this MoM (another port, a fragment, no payload, bad
// lengths, cut, ARP, TCP, not addressed to it): left untouched, no copy, whatever the route.
std::vector<std::pair<std::string, PacketBuilder>> fanout_passed_frames(std::uint8_t topic);

// IPv6 (docs/ipv6.md): the same event from kPublisherIp6 to kMomIp6, hop limit 64.
PacketBuilder fanout_event6(std::uint8_t topic);
// The IPv6 shapes the program must accept (fanout_event6 turned into them): VLAN tags, each extension header the
// router skips and the most it skips, hop limit 2, traffic class and flow label, padding.
const std::vector<FanoutShape>& fanout_accepted_shapes6();
// The IPv6 frames to the MoM's port it must leave to the stack: the router's IPv6 pass rules (extension headers,
// fragment header, lengths that lie, truncation at every header boundary, UDP checksum 0, not addressed to it).
std::vector<std::pair<std::string, PacketBuilder>> fanout_passed_frames6(std::uint8_t topic);

}  // namespace tempos::testkit
