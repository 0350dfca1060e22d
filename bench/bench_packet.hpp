// The strict event every program of `tempos-bench prog` runs on.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace tempos::bench {

struct BenchSubscriber {
    std::array<std::uint8_t, 4> ip;
    std::array<std::uint8_t, 6> mac;
};

inline constexpr std::uint8_t kBenchTopic = 1;
inline constexpr std::uint16_t kBenchPort = 9998;  // the thesis program's literal port; ours is configured to it
inline const std::array<std::uint8_t, 6> kMomMac{0x02, 0, 0, 0, 0, 0xfe};
inline const std::array<std::uint8_t, 4> kMomIp{10, 0, 0, 1};
// Three members for both programs, so both run their round robin.
inline const std::array<BenchSubscriber, 3> kBenchSubscribers{{
    {{10, 0, 1, 10}, {0x02, 0xaa, 0, 0, 0, 0x0a}},
    {{10, 0, 1, 11}, {0x02, 0xaa, 0, 0, 0, 0x0b}},
    {{10, 0, 1, 12}, {0x02, 0xaa, 0, 0, 0, 0x0c}},
}};

// Ethernet + IPv4 (TTL 255) + UDP to kBenchPort, topic kBenchTopic, valid IP and UDP checksums, 64 bytes.
std::vector<std::uint8_t> strict_event_frame();

// One event frame between two hosts: what the live-frames generator sends (64 bytes, valid checksums).
struct EventFrameSpec {
    std::array<std::uint8_t, 6> dst_mac;
    std::array<std::uint8_t, 6> src_mac;
    std::array<std::uint8_t, 4> src_ip;
    std::array<std::uint8_t, 4> dst_ip;
    std::uint16_t src_port = 40000;
    std::uint16_t dst_port = kBenchPort;
    std::uint8_t topic = kBenchTopic;
    std::uint8_t ttl = 255;
};
std::vector<std::uint8_t> event_frame(const EventFrameSpec& spec);

}  // namespace tempos::bench
