// The frames of the malformed-frames scenario (tests/e2e/scenario_malformed.sh), as data: truncated headers,
// lying IP/UDP lengths, fragments, IP options, bad checksums, TTL 1, an unknown topic, each with what the router
// must do with it (its pass reason or a redirect, in which counter slot) and whether a subscriber receives it.
// `tempos-testkit frames inject` sends them from an AF_PACKET socket.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frames/packet_builder.hpp"
#include "tempos/status.hpp"

namespace tempos::testkit {

// The scenario's addresses and topics the frames are built for.
struct MalformedTarget {
    MacAddr src_mac{};
    MacAddr dst_mac{};
    Ipv4Addr src_ip{};
    Ipv4Addr dst_ip{};
    std::uint16_t port = 0;  // the MoM's
    std::uint8_t strict_topic = 0;
    std::uint8_t best_effort_topic = 0;
    std::uint8_t unknown_topic = 0;
    std::uint64_t first_sequence = 1'000'000;  // events carry sequences from first_sequence + 1 up
};

struct InjectedFrame {
    std::string name;
    std::string description;
    Bytes frame;
    std::string slot;    // where the router counts it: none, strict, best_effort, unknown
    std::string effect;  // which counter: a pass reason (malformed, ttl, ...), redirected or best_effort
    bool delivered;      // a subscriber receives the event
};

// The case names, in sending order.
std::vector<std::string> malformed_case_names();

// The frames of the cases named (all when `names` is empty), in sending order; last_sequence is the highest
// event sequence used. Fails on an unknown name.
struct MalformedFrames {
    std::vector<InjectedFrame> frames;
    std::uint64_t last_sequence = 0;
};
Result<MalformedFrames> malformed_frames(const MalformedTarget& target, const std::vector<std::string>& names);

}  // namespace tempos::testkit
