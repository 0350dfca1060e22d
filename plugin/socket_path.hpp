// User-space delivery: one UDP socket, one copy of an event per subscription group, round-robin within
// each group, per-topic counters. send() runs concurrently from the dispatcher threads and with
// set_topic()/remove_topic() from the control thread.
#pragma once

#include <netinet/in.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <vector>

#include "tempos/adapter.hpp"

namespace tempos::xdp {

struct SocketCounters {
    std::uint64_t sent = 0;
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;
};

class SocketPath {
public:
    static Result<std::unique_ptr<SocketPath>> open();
    ~SocketPath();
    SocketPath(const SocketPath&) = delete;
    SocketPath& operator=(const SocketPath&) = delete;

    // Replaces the topic's groups (validated by the caller); round-robin restarts at the first member.
    void set_topic(const TopicConfig& topic);
    void remove_topic(std::uint8_t topic);
    bool has_topic(std::uint8_t topic) const;

    Status send(std::uint8_t topic, std::span<const std::uint8_t> payload);
    SocketCounters counters(std::uint8_t topic) const;

private:
    struct Group {
        std::vector<sockaddr_in> members;
        std::atomic<std::uint32_t> next{0};
    };
    // Immutable once published, except the round-robin cursors; send() holds a reference so a concurrent
    // set_topic() never frees what is being sent.
    struct Route {
        explicit Route(std::size_t group_count) : groups(group_count) {}
        std::vector<Group> groups;
    };
    struct AtomicCounters {
        std::atomic<std::uint64_t> sent{0};
        std::atomic<std::uint64_t> bytes{0};
        std::atomic<std::uint64_t> errors{0};
    };

    explicit SocketPath(int fd) : fd_(fd) {}
    std::shared_ptr<Route> route(std::uint8_t topic) const;

    int fd_;
    mutable std::shared_mutex routes_mutex_;
    std::array<std::shared_ptr<Route>, 256> routes_;
    std::array<AtomicCounters, 256> counters_;
};

}  // namespace tempos::xdp
