#include "metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "socket_name.hpp"
#include "tempos/system_status.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::mom {

namespace {

// 127.0.0.0/8 or ::1 (an IPv6 [::] listener takes IPv4 too, and so is not loopback).
bool is_loopback(const SocketAddress& address) {
    if (!address.ip6) return address.ip[0] == 127;
    Ipv6 loopback{};
    loopback[15] = 1;
    return *address.ip6 == loopback;
}

std::string reply(const char* status, const std::string& body, const char* content_type = "text/plain",
                  const char* extra_header = "", bool with_body = true) {
    return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_header +
           "Connection: close\r\n\r\n" + (with_body ? body : std::string());
}

}  // namespace

MetricsServer::MetricsServer(Renderer render, const LogContext& log)
    : render_(std::move(render)), log_(log.make_logger("metrics")) {}

MetricsServer::~MetricsServer() { stop(); }

Status MetricsServer::start(const SocketAddress& address) {
    SocketEndpoint addr = to_sockaddr(address);
    listener_ = UniqueFd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (listener_.get() < 0) return system_status("metrics socket", errno);
    const int on = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    // [::] takes IPv4 too whatever net.ipv6.bindv6only says, as the ingress sockets do.
    const int v6only = 0;
    if (addr.family() == AF_INET6) ::setsockopt(listener_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    const std::string where = format_socket_address(address);
    if (::bind(listener_.get(), addr.get(), addr.length) != 0)
        return system_status("cannot bind the metrics endpoint to " + where, errno);
    if (::listen(listener_.get(), 64) != 0) return system_status("listen on the metrics endpoint " + where, errno);
    ::getsockname(listener_.get(), addr.get(), &addr.length);
    bound_ = address;
    bound_.port = addr.port();
    wakeup_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wakeup_.get() < 0) return system_status("eventfd", errno);
    connections_.reserve(kMaxConnections);
    thread_ = std::thread([this] { run(); });
    log_->info("metrics on http://{}/metrics", format_socket_address(bound_));
    if (!is_loopback(address))
        log_->warn("the metrics endpoint {} is not a loopback address: it has no authentication, anyone who can "
                   "reach it can read the MoM's topics and counters",
                   format_socket_address(bound_));
    return Status::ok();
}

void MetricsServer::stop() {
    if (!thread_.joinable()) return;
    const std::uint64_t one = 1;
    (void)!::write(wakeup_.get(), &one, sizeof one);
    thread_.join();
    connections_.clear();
}

void MetricsServer::run() noexcept {
    try {
        if (Status dropped = drop_thread_capabilities(); !dropped)
            log_->error("capabilities not dropped: {}", dropped.message());
        std::vector<pollfd> fds;
        for (;;) {
            fds.clear();
            fds.push_back({wakeup_.get(), POLLIN, 0});
            fds.push_back({listener_.get(), POLLIN, 0});
            for (const Connection& c : connections_)
                fds.push_back({c.fd.get(), static_cast<short>(c.phase == Phase::writing ? POLLOUT : POLLIN), 0});
            const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(kPollInterval.count()));
            if (ready < 0 && errno != EINTR) {
                log_->error("metrics endpoint stopped: poll(): {}", std::strerror(errno));
                return;
            }
            if (fds[0].revents != 0) return;
            for (std::size_t i = 0; i < connections_.size(); ++i) {
                const short events = fds[i + 2].revents;
                if (events == 0) continue;
                Connection& c = connections_[i];
                if (c.phase == Phase::reading)
                    read_from(c);
                else if (c.phase == Phase::writing)
                    write_to(c);
                else
                    drain(c);
            }
            // Closed (fd reset) or past the deadline: gone.
            const auto now = std::chrono::steady_clock::now();
            std::erase_if(connections_, [&](const Connection& c) { return c.fd.get() < 0 || now >= c.deadline; });
            if (fds[1].revents != 0) accept_all();
        }
    } catch (const std::exception& e) {
        log_->error("metrics endpoint stopped: {}", e.what());
    } catch (...) {
        log_->error("metrics endpoint stopped");
    }
}

void MetricsServer::accept_all() {
    for (;;) {
        UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (fd.get() < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_->warn("metrics endpoint: accept(): {}", std::strerror(errno));
            return;
        }
        if (connections_.size() >= kMaxConnections) continue;  // closed at once: the limit holds
        Connection c;
        c.fd = std::move(fd);
        c.deadline = std::chrono::steady_clock::now() + kConnectionDeadline;
        connections_.push_back(std::move(c));
    }
}

void MetricsServer::read_from(Connection& c) {
    char buffer[2048];
    for (;;) {
        const ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c.fd.reset();  // the client went away
            return;
        }
        if (n < 0) return;  // nothing more for now
        c.request.append(buffer, static_cast<std::size_t>(n));
        const std::size_t end = c.request.find("\r\n\r\n");
        if (end != std::string::npos || c.request.size() >= kMaxRequestBytes) {
            c.response = end != std::string::npos && end + 4 <= kMaxRequestBytes
                             ? respond_to(c.request.substr(0, end + 2))
                             : reply("431 Request Header Fields Too Large",
                                     "the request head exceeds " + std::to_string(kMaxRequestBytes) + " bytes\n");
            c.request.clear();
            c.request.shrink_to_fit();
            c.phase = Phase::writing;
            write_to(c);
            return;
        }
    }
}

void MetricsServer::write_to(Connection& c) {
    while (!c.response.empty()) {
        const ssize_t n = ::send(c.fd.get(), c.response.data(), c.response.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            c.fd.reset();
            return;
        }
        c.response.erase(0, static_cast<std::size_t>(n));
    }
    // Answered in full: the peer sees the end of the response.
    ::shutdown(c.fd.get(), SHUT_WR);
    c.phase = Phase::draining;
}

void MetricsServer::drain(Connection& c) {
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        if (n > 0) c.drained += static_cast<std::size_t>(n);
        if (n <= 0 || c.drained > kMaxDrainBytes) {
            c.fd.reset();
            return;
        }
    }
}

// `head`: the request line and the header lines, each ending in CRLF.
std::string MetricsServer::respond_to(const std::string& head) {
    std::size_t lines = 0;
    for (std::size_t at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2)) ++lines;
    if (lines > kMaxHeaders + 1)
        return reply("431 Request Header Fields Too Large",
                     "more than " + std::to_string(kMaxHeaders) + " header lines\n");
    const std::string request_line = head.substr(0, head.find("\r\n"));
    const std::size_t method_end = request_line.find(' ');
    const std::size_t target_end = request_line.find(' ', method_end + 1);
    if (method_end == std::string::npos || target_end == std::string::npos ||
        request_line.compare(target_end + 1, 5, "HTTP/") != 0)
        return reply("400 Bad Request", "not an HTTP request line\n");
    const std::string method = request_line.substr(0, method_end);
    const std::string target = request_line.substr(method_end + 1, target_end - method_end - 1);
    if (method != "GET" && method != "HEAD")
        return reply("405 Method Not Allowed", "only GET /metrics is served\n", "text/plain", "Allow: GET, HEAD\r\n");
    if (target != "/metrics" && target.rfind("/metrics?", 0) != 0)
        return reply("404 Not Found", "only /metrics is served\n");
    try {
        return reply("200 OK", render_(), "text/plain; version=0.0.4; charset=utf-8", "", method == "GET");
    } catch (const std::exception& e) {
        return reply("500 Internal Server Error", std::string("metrics unavailable: ") + e.what() + "\n");
    }
}

}  // namespace tempos::mom
