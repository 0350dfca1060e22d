// The UDP receiver: one thread reading datagram batches with recvmmsg, classifying each by its first byte
// (the topic) and queueing it for the strict (SQ) or best-effort (BQ) dispatcher.
#pragma once

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
#include "logging.hpp"
#include "topic_table.hpp"

namespace tempos::mom {

class Ingress {
public:
    Ingress(const TopicTable& topics, EventQueue& sq, EventQueue& bq, MomCounters& counters, const LogContext& log);
    ~Ingress();
    Ingress(const Ingress&) = delete;
    Ingress& operator=(const Ingress&) = delete;

    // Binds the UDP socket (port 0 picks a free port) with a receive buffer of `receive_buffer` bytes, or the
    // largest the kernel grants (with a warning). Returns why it failed.
    Status bind(const SocketAddress& listen, std::int64_t receive_buffer = 4 << 20);
    // The address actually bound (after bind()).
    SocketAddress local_address() const { return bound_; }
    // The receive buffer the kernel granted (after bind()), bytes.
    std::int64_t receive_buffer() const { return receive_buffer_; }
    void start();
    // Returns within one poll interval.
    void stop();

private:
    void set_receive_buffer(std::int64_t wanted);
    void run() noexcept;
    void receive_batch();
    void classify(const std::uint8_t* data, std::size_t size);

    const TopicTable& topics_;
    EventQueue& sq_;
    EventQueue& bq_;
    MomCounters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    int fd_ = -1;
    std::int64_t receive_buffer_ = 0;
    SocketAddress bound_{};
    std::vector<std::uint8_t> buffers_;  // one maximum-size datagram per batch slot, owned by the thread
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace tempos::mom
