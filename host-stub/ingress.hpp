// The UDP receiver: two sockets on the MoM's port (ingress_socket.hpp), one for strict and one for best-effort
// topics, chosen per datagram in the kernel by the steering program (ingress_steering.hpp), each read by its
// own thread with recvmmsg: tempos-rx-sq (SCHED_FIFO at sq_priority) and tempos-rx-bq. A best-effort flood thus
// fills only the best-effort socket and thread; strict events never queue behind it, not even in a socket
// buffer. Each thread classifies every datagram again by its first byte (the topic) and queues it for the strict
// (SQ) or best-effort (BQ) dispatcher, so a datagram in the "wrong" socket (a reload in flight, or no steering)
// still reaches the right queue, and is counted as such.
// Without the steering program (no CAP_BPF) both sockets still work, the kernel spreads datagrams over them by
// their addresses: said in the log and as tempos_ingress_isolated 0.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "config.hpp"
#include "counters.hpp"
#include "event_queue.hpp"
#include "ingress_socket.hpp"
#include "ingress_steering.hpp"
#include "logging.hpp"
#include "topic_table.hpp"

namespace tempos::mom {

class Ingress {
public:
    Ingress(const TopicTable& topics, EventQueue& sq, EventQueue& bq, MomCounters& counters, const LogContext& log);
    ~Ingress();
    Ingress(const Ingress&) = delete;
    Ingress& operator=(const Ingress&) = delete;

    // Binds both sockets (port 0 picks a free port) with a receive buffer of `receive_buffer` bytes each, or the
    // largest the kernel grants (with a warning), and attaches the steering program. Refuses a port any other
    // socket holds. Returns why it failed. An IPv6 `listen` also receives IPv4 (dual-stack) unless v6only.
    // With `inherited` (the two sockets tempos-mom.socket holds, inherited_sockets.hpp) those are taken instead:
    // exactly two, bound to `listen`.
    Status bind(const SocketAddress& listen, std::int64_t receive_buffer = 4 << 20, bool v6only = false,
                std::vector<UniqueFd> inherited = {});
    // The address actually bound (after bind()).
    SocketAddress local_address() const { return bound_; }
    // The receive buffer the kernel granted each socket (after bind()), bytes.
    std::int64_t receive_buffer() const;
    // Whether the steering program decides the socket of every datagram (after bind()).
    bool isolated() const { return steering_ != nullptr; }
    // Steers `topic`'s datagrams to the socket of `path`; nullopt (unknown topic): to the best-effort socket.
    // Call whenever the topic table changes.
    void steer(std::uint8_t topic, std::optional<Path> path);
    // Starts both threads; the strict one under SCHED_FIFO at `strict_priority` (0: SCHED_OTHER).
    void start(int strict_priority = 0);
    // Returns within one poll interval.
    void stop();
    // Datagrams each socket's receive buffer dropped (IngressSocket::drops).
    std::uint64_t socket_drops(Path socket) const;
    // The receiver thread's name, as the kernel shows it ("tempos-rx-sq" / "tempos-rx-bq").
    static std::string thread_name(Path socket);

private:
    struct Receiver {
        Path path;
        std::optional<IngressSocket> socket;
        std::thread thread;
    };
    void run(Receiver& receiver, int priority) noexcept;
    void apply_scheduling(Path path, int priority);
    void classify(Path socket, const std::uint8_t* data, std::size_t size);

    const TopicTable& topics_;
    EventQueue& sq_;
    EventQueue& bq_;
    MomCounters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    std::array<Receiver, 2> receivers_{Receiver{Path::sq, {}, {}}, Receiver{Path::bq, {}, {}}};
    std::unique_ptr<IngressSteering> steering_;
    SocketAddress bound_{};
    std::atomic<bool> stopping_{false};
};

}  // namespace tempos::mom
