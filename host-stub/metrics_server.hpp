// Serves GET /metrics over HTTP (cpp-httplib) on its own thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/logger.h>

#include "config.hpp"
#include "logging.hpp"

namespace httplib {
class Server;
}

namespace tempos::mom {

class MetricsServer {
public:
    using Renderer = std::function<std::string()>;
    MetricsServer(Renderer render, const LogContext& log);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds (port 0 picks a free one) and starts serving. Returns why it failed.
    Status start(const SocketAddress& address);
    SocketAddress local_address() const { return bound_; }
    void stop();

private:
    Renderer render_;
    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<httplib::Server> server_;
    SocketAddress bound_{};
    std::thread thread_;
};

}  // namespace tempos::mom
