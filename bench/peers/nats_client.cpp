#include "nats_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include "event_format.hpp"

namespace tempos::bench::peers {

namespace {

constexpr std::size_t kQueuedFlushBytes = 32 * 1024;  // what a flooding publisher coalesces per write
constexpr int kStallMs = 2000;                          // a write making no progress this long is an error
constexpr int kHandshakeMs = 3000;

// One TCP connection speaking the NATS client protocol.
class NatsConnection {
public:
    explicit NatsConnection(int fd) : fd_(fd) {}
    ~NatsConnection() { close(fd_); }
    NatsConnection(const NatsConnection&) = delete;
    NatsConnection& operator=(const NatsConnection&) = delete;

    static std::unique_ptr<NatsConnection> open(const std::string& host, int port, std::string& error) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = std::string("socket: ") + std::strerror(errno);
            return nullptr;
        }
        auto conn = std::make_unique<NatsConnection>(fd);
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // as every NATS client does
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
            error = "not an IPv4 address: " + host;
            return nullptr;
        }
        if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
            error = "connecting to nats-server " + host + ":" + std::to_string(port) + ": " + std::strerror(errno);
            return nullptr;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        return conn;
    }

    // INFO from the server, then CONNECT, `commands` (a SUB), PING; done when the PONG comes back, which
    // proves the server has processed everything before it.
    std::string handshake(const std::string& commands) {
        const std::uint64_t deadline = tools::monotonic_ns() + kHandshakeMs * 1'000'000ull;
        while (!seen_info_) {
            if (tools::monotonic_ns() >= deadline) return "no INFO from nats-server";
            if (std::string e = pump(50, nullptr); !e.empty()) return e;
        }
        const std::string hello =
            R"(CONNECT {"verbose":false,"pedantic":false,"name":"tempos-bench","lang":"c++","version":"0"})"
            "\r\n" + commands + "PING\r\n";
        if (std::string e = write_all(hello.data(), hello.size()); !e.empty()) return e;
        const std::uint64_t pongs = pongs_;
        while (pongs_ == pongs) {
            if (tools::monotonic_ns() >= deadline) return "no PONG from nats-server after CONNECT";
            if (std::string e = pump(50, nullptr); !e.empty()) return e;
        }
        return {};
    }

    std::string write_all(const char* data, std::size_t size) {
        while (size > 0) {
            const ssize_t n = send(fd_, data, size, MSG_NOSIGNAL);
            if (n > 0) {
                data += n;
                size -= static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pollfd p{fd_, POLLOUT, 0};
                const int r = poll(&p, 1, kStallMs);
                if (r == 0) return "writing to nats-server: no progress for 2 s";
                if (r < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
                continue;
            }
            return std::string("writing to nats-server: ") + std::strerror(errno);
        }
        return {};
    }

    // Waits up to timeout_ms for input, reads what is there, answers PINGs and hands MSG payloads over.
    std::string pump(int timeout_ms, const PayloadHandler* on_msg) {
        pollfd p{fd_, POLLIN, 0};
        const int r = poll(&p, 1, timeout_ms);
        if (r < 0) return errno == EINTR ? std::string() : std::string("poll: ") + std::strerror(errno);
        if (r == 0) return {};
        // A bounded number of reads, so that a flood cannot keep this call from returning.
        for (int i = 0; i < 16; ++i) {
            char buf[64 * 1024];
            const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
            if (n == 0) return "connection closed by nats-server" + (last_error_.empty() ? "" : " (" + last_error_ + ")");
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                return std::string("reading from nats-server: ") + std::strerror(errno);
            }
            in_.append(buf, static_cast<std::size_t>(n));
            if (std::string e = parse(on_msg); !e.empty()) return e;
        }
        return {};
    }

private:
    // Consumes every complete protocol line (and MSG payload) in in_.
    std::string parse(const PayloadHandler* on_msg) {
        for (;;) {
            const std::size_t eol = in_.find("\r\n", pos_);
            if (eol == std::string::npos) {
                if (in_.size() - pos_ > 64 * 1024) return "nats-server sent a line longer than 64 KiB";
                break;
            }
            const std::string_view line(in_.data() + pos_, eol - pos_);
            if (line.starts_with("MSG ")) {
                // MSG <subject> <sid> [reply-to] <#bytes>
                const std::size_t sp = line.rfind(' ');
                std::size_t bytes = 0;
                const auto [end, ec] = std::from_chars(line.data() + sp + 1, line.data() + line.size(), bytes);
                if (ec != std::errc() || end != line.data() + line.size())
                    return "malformed MSG line from nats-server: " + std::string(line);
                const std::size_t payload_at = eol + 2;
                if (in_.size() < payload_at + bytes + 2) break;  // the payload has not fully arrived
                if (in_.compare(payload_at + bytes, 2, "\r\n") != 0) return "MSG payload not followed by CRLF";
                if (on_msg)
                    (*on_msg)(std::span<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t*>(in_.data() + payload_at), bytes));
                pos_ = payload_at + bytes + 2;
                continue;
            }
            if (line == "PING") {
                if (std::string e = write_all("PONG\r\n", 6); !e.empty()) return e;
            } else if (line == "PONG") {
                ++pongs_;
            } else if (line.starts_with("INFO ")) {
                seen_info_ = true;
            } else if (line.starts_with("-ERR")) {
                // The server closes the connection after most errors; keep the reason for that moment.
                last_error_ = std::string(line);
                if (line.find("Slow Consumer") == std::string_view::npos)
                    return "nats-server: " + last_error_;
            } else if (line != "+OK") {
                return "unexpected line from nats-server: " + std::string(line.substr(0, 80));
            }
            pos_ = eol + 2;
        }
        if (pos_ > 0 && pos_ * 2 >= in_.size()) {
            in_.erase(0, pos_);
            pos_ = 0;
        }
        return {};
    }

    int fd_;
    std::string in_;
    std::size_t pos_ = 0;
    bool seen_info_ = false;
    std::uint64_t pongs_ = 0;
    std::string last_error_;
};

class NatsPublisher : public PeerPublisher {
public:
    NatsPublisher(std::unique_ptr<NatsConnection> conn, const std::string& subject)
        : conn_(std::move(conn)), subject_(subject) {}

    std::string send_now(std::span<const std::uint8_t> payload) override {
        if (std::string e = flush(); !e.empty()) return e;
        append(payload);
        return flush();
    }
    std::string send_queued(std::span<const std::uint8_t> payload) override {
        append(payload);
        return out_.size() >= kQueuedFlushBytes ? flush() : std::string();
    }
    std::string flush() override {
        if (out_.empty()) return {};
        std::string e = conn_->write_all(out_.data(), out_.size());
        out_.clear();
        return e;
    }
    std::string service() override { return conn_->pump(0, nullptr); }

private:
    void append(std::span<const std::uint8_t> payload) {
        out_ += "PUB ";
        out_ += subject_;
        out_ += ' ';
        out_ += std::to_string(payload.size());
        out_ += "\r\n";
        out_.append(reinterpret_cast<const char*>(payload.data()), payload.size());
        out_ += "\r\n";
    }

    std::unique_ptr<NatsConnection> conn_;
    std::string subject_;
    std::string out_;
};

class NatsSubscriber : public PeerSubscriber {
public:
    NatsSubscriber(std::unique_ptr<NatsConnection> conn, PayloadHandler handler)
        : conn_(std::move(conn)), handler_(std::move(handler)) {}
    std::string receive(int timeout_ms) override { return conn_->pump(timeout_ms, &handler_); }

private:
    std::unique_ptr<NatsConnection> conn_;
    PayloadHandler handler_;
};

}  // namespace

std::unique_ptr<PeerPublisher> NatsProtocol::connect_publisher(const std::string& subject, std::string& error) {
    auto conn = NatsConnection::open(host_, port_, error);
    if (!conn) return nullptr;
    if (error = conn->handshake(""); !error.empty()) return nullptr;
    return std::make_unique<NatsPublisher>(std::move(conn), subject);
}

std::unique_ptr<PeerSubscriber> NatsProtocol::connect_subscriber(const std::string& subject, PayloadHandler handler,
                                                                 std::string& error) {
    auto conn = NatsConnection::open(host_, port_, error);
    if (!conn) return nullptr;
    if (error = conn->handshake("SUB " + subject + " 1\r\n"); !error.empty()) return nullptr;
    return std::make_unique<NatsSubscriber>(std::move(conn), std::move(handler));
}

}  // namespace tempos::bench::peers
