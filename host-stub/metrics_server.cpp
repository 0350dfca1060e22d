#include "metrics_server.hpp"

#include <httplib.h>

#include <exception>

namespace tempos::mom {

MetricsServer::MetricsServer(Renderer render, const LogContext& log)
    : render_(std::move(render)), log_(log.make_logger("metrics")) {}

MetricsServer::~MetricsServer() { stop(); }

Status MetricsServer::start(const SocketAddress& address) {
    server_ = std::make_unique<httplib::Server>();
    // One request per connection: an idle keep-alive connection would otherwise delay shutdown.
    server_->set_keep_alive_max_count(1);
    server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        try {
            res.set_content(render_(), "text/plain; version=0.0.4; charset=utf-8");
        } catch (const std::exception& e) {
            res.status = 500;
            res.set_content(std::string("metrics unavailable: ") + e.what() + "\n", "text/plain");
        }
    });
    const std::string host = format_ipv4(address.ip);
    int port = address.port;
    if (port == 0) {
        port = server_->bind_to_any_port(host);
        if (port < 0)
            return Status::error(ErrorCode::system_error, "cannot bind the metrics endpoint to " + host + ":0");
    } else if (!server_->bind_to_port(host, port)) {
        return Status::error(ErrorCode::system_error,
                             "cannot bind the metrics endpoint to " + host + ":" + std::to_string(port));
    }
    bound_ = {address.ip, static_cast<std::uint16_t>(port)};
    thread_ = std::thread([this] {
        try {
            server_->listen_after_bind();
        } catch (const std::exception& e) {
            log_->error("metrics endpoint stopped: {}", e.what());
        }
    });
    log_->info("metrics on http://{}:{}/metrics", host, port);
    return Status::ok();
}

void MetricsServer::stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
}

}  // namespace tempos::mom
