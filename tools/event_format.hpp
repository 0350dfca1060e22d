// The payload tempos-pub writes and tempos-sub reads: topic byte first (what the MoM routes on), then a
// sequence number and the CLOCK_MONOTONIC send time, little-endian. Namespaces share one clock, so the
// receiver computes one-way latency directly. A paced sender writes the time the event was due (its intended send
// time), so a sender that falls behind its schedule adds to the latency measured instead of hiding it.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>

namespace tempos::tools {

inline constexpr std::size_t kEventHeaderSize = 1 + 8 + 8;

struct EventHeader {
    std::uint8_t topic = 0;
    std::uint64_t sequence = 0;
    std::uint64_t sent_ns = 0;
};

inline std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Sleeps until monotonic_ns() reaches `deadline_ns` (the publishers' pacing).
inline void sleep_until_ns(std::uint64_t deadline_ns) {
    timespec ts{static_cast<time_t>(deadline_ns / 1'000'000'000ull), static_cast<long>(deadline_ns % 1'000'000'000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

// buffer.size() >= kEventHeaderSize; x86 and the BPF target are little-endian, and so is the wire format.
inline void write_event_header(std::span<std::uint8_t> buffer, const EventHeader& h) {
    buffer[0] = h.topic;
    std::memcpy(buffer.data() + 1, &h.sequence, 8);
    std::memcpy(buffer.data() + 9, &h.sent_ns, 8);
}

// Bytes after the header follow a pattern derived from the sequence number, so a receiver can tell that a
// payload arrived unchanged (the kernel path rewrites headers only, never the payload).
inline std::uint8_t pattern_byte(std::uint64_t sequence, std::size_t offset) {
    return static_cast<std::uint8_t>(sequence * 31 + offset);
}

inline void write_payload_pattern(std::span<std::uint8_t> buffer, std::uint64_t sequence) {
    for (std::size_t i = kEventHeaderSize; i < buffer.size(); ++i) buffer[i] = pattern_byte(sequence, i);
}

inline bool payload_pattern_intact(std::span<const std::uint8_t> buffer, std::uint64_t sequence) {
    for (std::size_t i = kEventHeaderSize; i < buffer.size(); ++i)
        if (buffer[i] != pattern_byte(sequence, i)) return false;
    return true;
}

inline std::optional<EventHeader> read_event_header(std::span<const std::uint8_t> buffer) {
    if (buffer.size() < kEventHeaderSize) return std::nullopt;
    EventHeader h;
    h.topic = buffer[0];
    std::memcpy(&h.sequence, buffer.data() + 1, 8);
    std::memcpy(&h.sent_ns, buffer.data() + 9, 8);
    return h;
}

}  // namespace tempos::tools
