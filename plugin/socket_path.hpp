// User-space delivery: one copy of an event per subscription group, round-robin within each group, per-topic
// counters. Strict and best-effort topics leave through their own non-blocking socket (class_socket.hpp), so a
// full best-effort socket never delays a strict copy; every copy the kernel refuses is counted by reason
// (send_error_reason.hpp), never as sent. Each class has an AF_INET socket and, where the host has IPv6, an
// AF_INET6 one for IPv6 subscribers; a topic may mix both families (docs/ipv6.md). send() runs concurrently from the dispatcher threads and with
// set_topic()/remove_topic()/collect_queued_errors() from the control thread.
#pragma once

#include <netinet/in.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "class_socket.hpp"
#include "send_error_reason.hpp"
#include "tempos/adapter.hpp"

namespace tempos::xdp {

struct SocketCounters {
    std::uint64_t sent = 0;
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;  // copies not sent: the sum of the reasons that are not icmp_*
    std::array<std::uint64_t, kSendErrorReasons> by_reason{};
};

class SocketPath {
public:
    static Result<std::unique_ptr<SocketPath>> open();
    SocketPath(const SocketPath&) = delete;
    SocketPath& operator=(const SocketPath&) = delete;

    // Whether set_topic() can serve the topic: an IPv6 member needs the AF_INET6 sockets.
    Status check_topic(const TopicConfig& topic) const;
    // Replaces the topic's groups (validated by the caller, check_topic() included); round-robin restarts at the
    // first member. The topic's QoS picks its socket, each member's family the socket of that class.
    void set_topic(const TopicConfig& topic);
    void remove_topic(std::uint8_t topic);
    bool has_topic(std::uint8_t topic) const;

    Status send(std::uint8_t topic, std::span<const std::uint8_t> payload);
    // Counts the ICMP errors waiting in both sockets' error queues (send() reads its own socket's queue when it
    // saw one; this catches the rest, e.g. before the counters are reported).
    void collect_queued_errors();
    SocketCounters counters(std::uint8_t topic) const;
    // The socket a class sends IPv4 copies through (tests).
    const ClassSocket& socket(Qos qos) const { return qos == Qos::strict ? strict_ : best_effort_; }
    // The one for IPv6 copies; nullptr where the host has no IPv6 (tests).
    const ClassSocket* socket6(Qos qos) const;

private:
    struct Member {
        union {
            sockaddr_in v4;
            sockaddr_in6 v6;
        } address;
        bool ipv6 = false;
    };
    struct Group {
        std::vector<Member> members;
        std::atomic<std::uint32_t> next{0};
    };
    // Immutable once published, except the round-robin cursors; send() holds a reference so a concurrent
    // set_topic() never frees what is being sent.
    struct Route {
        Route(Qos qos, std::size_t group_count) : qos(qos), groups(group_count) {}
        Qos qos;
        std::vector<Group> groups;
    };
    struct AtomicCounters {
        std::atomic<std::uint64_t> sent{0};
        std::atomic<std::uint64_t> bytes{0};
        std::array<std::atomic<std::uint64_t>, kSendErrorReasons> by_reason{};
    };

    SocketPath(ClassSocket strict, ClassSocket best_effort)
        : strict_(std::move(strict)), best_effort_(std::move(best_effort)) {}
    std::shared_ptr<Route> route(std::uint8_t topic) const;
    void count(std::uint8_t topic, SendErrorReason reason);
    void read_error_queue(const ClassSocket& socket, std::size_t limit);

    // Sends the messages through `socket`, counting every copy refused; returns how many were sent.
    std::size_t send_through(const ClassSocket& socket, std::uint8_t topic, std::span<mmsghdr> messages,
                             std::span<int> errors);

    ClassSocket strict_;
    ClassSocket best_effort_;
    std::optional<ClassSocket> strict6_;
    std::optional<ClassSocket> best_effort6_;
    Status ipv6_ = Status::ok();  // why there are no AF_INET6 sockets (ok: there are)
    mutable std::shared_mutex routes_mutex_;
    std::array<std::shared_ptr<Route>, 256> routes_;
    std::array<AtomicCounters, 256> counters_;
};

}  // namespace tempos::xdp
