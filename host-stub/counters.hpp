// Lock-free counters shared by the receiver, the dispatchers and the metrics endpoint.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace tempos::mom {

// The user-space path an event takes inside the MoM.
enum class Path : std::uint8_t { sq = 0, bq = 1 };
inline constexpr const char* path_name(Path p) { return p == Path::sq ? "sq" : "bq"; }

struct PathCounters {
    std::atomic<std::uint64_t> received{0};     // datagrams of this topic taken by the receiver
    std::atomic<std::uint64_t> queued{0};       // accepted by the queue
    std::atomic<std::uint64_t> dropped{0};      // refused by a full queue
    std::atomic<std::uint64_t> sent{0};         // successful adapter send() calls
    std::atomic<std::uint64_t> send_errors{0};  // failed adapter send() calls
    std::atomic<std::uint64_t> abandoned{0};    // still queued when the SIGTERM drain ended ([mom] drain_timeout)
};

// Datagrams one ingress socket's thread read, by the class of their topic ([sq], [bq], [kNoClass]: unknown topic or
// empty): with the steering program, the strict socket reads strict topics only.
inline constexpr int kNoClass = 2;
struct IngressSocketCounters {
    std::array<std::atomic<std::uint64_t>, 3> datagrams{};
};

struct MomCounters {
    std::array<std::array<PathCounters, 2>, 256> topics;  // [topic][path]
    std::array<IngressSocketCounters, 2> ingress_sockets;  // [socket: sq, bq]
    std::atomic<std::uint64_t> unknown_topic{0};
    std::atomic<std::uint64_t> empty_datagrams{0};
    std::atomic<std::uint64_t> receive_errors{0};
    std::atomic<std::uint64_t> ttl_expired{0};  // TTL <= 1 at the socket path: dropped, never sent on (received_ttl.hpp)
    std::atomic<std::uint64_t> reloads_ok{0};
    std::atomic<std::uint64_t> reloads_failed{0};
    std::atomic<std::uint64_t> rollbacks_failed{0};  // a refused reload whose undo failed too: fatal (fatal.hpp)

    PathCounters& at(std::uint8_t topic, Path path) { return topics[topic][static_cast<int>(path)]; }
    const PathCounters& at(std::uint8_t topic, Path path) const { return topics[topic][static_cast<int>(path)]; }
};

}  // namespace tempos::mom
