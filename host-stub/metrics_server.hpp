// Serves GET /metrics on its own thread: a small poll() loop instead of a general HTTP server, because the
// endpoint has no authentication and must stay harmless whatever connects to it. Every resource is bounded:
//   - at most kMaxConnections open at once; one more is accepted and closed at once (no fd, memory or thread
//     grows with the number of clients, so 1000 idle connections cannot exhaust the MoM's fds: EMFILE);
//   - a request head of at most kMaxRequestBytes with at most kMaxHeaders lines (431 beyond); a body is never
//     read, so a 4 GiB POST costs nothing but its first bytes (405);
//   - each connection is closed kConnectionDeadline after it was accepted, answered or not;
//   - only GET (and HEAD) of /metrics (405 / 404 otherwise), one request per connection;
//   - stop() returns within one poll interval (kPollInterval), whatever the clients do.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "config.hpp"
#include "logging.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::mom {

class MetricsServer {
public:
    static constexpr std::size_t kMaxConnections = 16;
    static constexpr std::size_t kMaxRequestBytes = 8192;
    static constexpr std::size_t kMaxHeaders = 64;
    static constexpr std::chrono::milliseconds kConnectionDeadline{2000};
    static constexpr std::chrono::milliseconds kPollInterval{100};

    using Renderer = std::function<std::string()>;
    MetricsServer(Renderer render, const LogContext& log);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds (port 0 picks a free one) and starts serving. Returns why it failed. A non-loopback address is served
    // with a warning: anyone who can reach it can read the metrics.
    Status start(const SocketAddress& address);
    SocketAddress local_address() const { return bound_; }
    void stop();

private:
    // reading the head -> writing the response -> draining: what the client still sends is read and discarded
    // (at most kMaxDrainBytes) until it closes, so that closing does not reset the connection before the client
    // has read the response.
    enum class Phase { reading, writing, draining };
    static constexpr std::size_t kMaxDrainBytes = 65536;
    struct Connection {
        UniqueFd fd;
        std::chrono::steady_clock::time_point deadline;
        Phase phase = Phase::reading;
        std::string request;   // the head received so far
        std::string response;  // what is left to write
        std::size_t drained = 0;
    };

    void run() noexcept;
    void accept_all();
    // Reads what is there; once the head is complete (or refused), prepares the response.
    void read_from(Connection& c);
    void write_to(Connection& c);
    void drain(Connection& c);
    std::string respond_to(const std::string& head);

    Renderer render_;
    std::shared_ptr<spdlog::logger> log_;
    UniqueFd listener_;
    UniqueFd wakeup_;  // eventfd: stop()
    SocketAddress bound_{};
    std::vector<Connection> connections_;  // only the server thread touches it
    std::thread thread_;
};

}  // namespace tempos::mom
