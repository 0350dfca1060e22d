// The /metrics endpoint's bounds (metrics_server.hpp): GET only, bounded request heads and header counts, a
// deadline per connection, a connection limit; a huge POST and a flood of idle connections neither grow the MoM's
// fds nor stop it from serving once they are gone, and stop() does not wait for them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>

#include "metrics_server.hpp"
#include "plugins/recording_test_support.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::mom {
namespace {

// A connection to 127.0.0.1:port, or to [::1]:port.
UniqueFd connect_to(std::uint16_t port, bool ipv6 = false) {
    UniqueFd fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sockaddr_in6 addr6{};
    addr6.sin6_family = AF_INET6;
    addr6.sin6_port = htons(port);
    addr6.sin6_addr = in6addr_loopback;
    const int connected = ipv6 ? ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr6), sizeof addr6)
                               : ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (connected != 0) return UniqueFd();
    timeval timeout{5, 0};  // bounds every read of a test
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
}

bool send_all(int fd, const std::string& data) {
    for (std::size_t at = 0; at < data.size();) {
        const ssize_t n = ::send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
        if (n <= 0) return false;
        at += static_cast<std::size_t>(n);
    }
    return true;
}

// Everything until the server closes (or 5 s of silence).
std::string read_all(int fd) {
    std::string out;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
    return out;
}

// How many of `sockets` the server has closed (a peek reads end of stream).
std::size_t closed_by_peer(const std::vector<UniqueFd>& sockets) {
    std::size_t closed = 0;
    char byte;
    for (const UniqueFd& fd : sockets) closed += ::recv(fd.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
    return closed;
}

// The process's open sockets: the server's listener and connections, the test's clients. Other fds are not
// counted: at its start the server thread drops capabilities, and libcap-ng reads /proc/<tid>/status through an
// fd of its own for a moment (counted once, under load, by a count of every fd: CI).
std::size_t open_sockets() {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code error;
        n += std::filesystem::read_symlink(entry.path(), error).string().starts_with("socket:");
    }
    return n;
}

class MetricsServerTest : public ::testing::Test {
protected:
    std::ostringstream log_text;
    LogContext log{{std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text)}, spdlog::level::info};
    MetricsServer server{[] { return std::string("tempos_up 1\n"); }, log};
    std::uint16_t port = 0;

    void SetUp() override {
        ASSERT_TRUE(server.start({{127, 0, 0, 1}, 0}).is_ok());
        port = server.local_address().port;
    }
    std::string request(const std::string& text) {
        UniqueFd fd = connect_to(port);
        if (fd.get() < 0 || !send_all(fd.get(), text)) return "no connection";
        return read_all(fd.get());
    }
    std::string get_metrics() { return request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); }
};

TEST_F(MetricsServerTest, ServesGetMetricsAndNothingElse) {
    const std::string ok = get_metrics();
    EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
    EXPECT_NE(ok.find("Content-Length: 12\r\n"), std::string::npos) << ok;
    EXPECT_TRUE(ok.ends_with("\r\n\r\ntempos_up 1\n")) << ok;
    EXPECT_TRUE(request("GET /other HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
    const std::string post = request("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    EXPECT_TRUE(post.starts_with("HTTP/1.1 405 ")) << post;
    EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos) << post;
    EXPECT_TRUE(request("garbage\r\n\r\n").starts_with("HTTP/1.1 400 "));
    EXPECT_EQ(log_text.str().find("not a loopback address"), std::string::npos) << "loopback is served without a warning";
}

TEST_F(MetricsServerTest, OversizedHeadsAndTooManyHeadersAreRefused) {
    const std::string big = "GET /metrics HTTP/1.1\r\nX: " + std::string(MetricsServer::kMaxRequestBytes, 'a') + "\r\n\r\n";
    EXPECT_TRUE(request(big).starts_with("HTTP/1.1 431 ")) << request(big).substr(0, 80);
    std::string many = "GET /metrics HTTP/1.1\r\n";
    for (std::size_t i = 0; i <= MetricsServer::kMaxHeaders; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
    EXPECT_TRUE(request(many + "\r\n").starts_with("HTTP/1.1 431 "));
    // Exactly the limit is fine.
    std::string enough = "GET /metrics HTTP/1.1\r\n";
    for (std::size_t i = 0; i < MetricsServer::kMaxHeaders; ++i) enough += "X-" + std::to_string(i) + ": 1\r\n";
    EXPECT_TRUE(request(enough + "\r\n").starts_with("HTTP/1.1 200 "));
}

// A "4 GiB POST": the server answers from the head and closes; the client cannot push the body into it.
TEST_F(MetricsServerTest, AHugePostIsAnsweredFromItsHeadAndItsBodyNeverRead) {
    UniqueFd fd = connect_to(port);
    ASSERT_GE(fd.get(), 0);
    ASSERT_TRUE(send_all(fd.get(), "POST /metrics HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\n"));
    const std::string chunk(1 << 20, 'x');
    std::size_t sent_mib = 0;
    // Bounded: the server closed long before 4 GiB, so a send fails (EPIPE / ECONNRESET) within this many MiB.
    while (sent_mib < 256 && send_all(fd.get(), chunk)) ++sent_mib;
    EXPECT_LT(sent_mib, 256u) << "the server kept reading the body";
    std::printf("a 4 GiB POST: the connection refused more after %zu MiB\n", sent_mib);
    EXPECT_TRUE(get_metrics().starts_with("HTTP/1.1 200 OK"));
}

TEST_F(MetricsServerTest, IdleConnectionsAreBoundedClosedAtTheirDeadlineAndDoNotDelayStop) {
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    const rlim_t wanted = std::min<rlim_t>(limit.rlim_max, 4096);
    limit.rlim_cur = std::max(limit.rlim_cur, wanted);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
    ASSERT_GE(limit.rlim_cur, 1100u);

    const std::size_t before = open_sockets();
    std::vector<UniqueFd> idle;
    for (int i = 0; i < 1000; ++i) {
        idle.push_back(connect_to(port));
        ASSERT_GE(idle.back().get(), 0) << "connection " << i;
    }
    // The server side holds at most kMaxConnections of them; the rest were closed as they came. Waited for from the
    // client side: until the server has accepted (and closed) all but those, they may still wait in the backlog.
    // Bounded at 60 s: a client whose handshake the full backlog dropped is only queued when the server's SYN-ACK
    // is retransmitted (1, 3, 7, 15 s ...).
    ASSERT_TRUE(test::wait_until([&] { return closed_by_peer(idle) >= idle.size() - MetricsServer::kMaxConnections; },
                                 std::chrono::seconds(60)))
        << closed_by_peer(idle) << " of " << idle.size() << " closed by the server";
    const std::size_t server_side = open_sockets() - before - idle.size();
    EXPECT_LE(server_side, MetricsServer::kMaxConnections);
    std::printf("1000 idle connections: the server holds %zu\n", server_side);

    // Past their deadline the held ones are closed too, and the endpoint serves again.
    ASSERT_TRUE(test::wait_until(
        [&] { return closed_by_peer(idle) == idle.size() && open_sockets() == before + idle.size(); },
        std::chrono::seconds(60)))
        << closed_by_peer(idle) << " of " << idle.size() << " closed by the server; " << open_sockets()
        << " sockets open, " << before << " + " << idle.size() << " expected";
    EXPECT_TRUE(get_metrics().starts_with("HTTP/1.1 200 OK"));

    // New idle connections while stopping: stop() returns within a poll interval, whatever they do.
    std::vector<UniqueFd> more;
    for (int i = 0; i < 16; ++i) more.push_back(connect_to(port));
    const auto t0 = std::chrono::steady_clock::now();
    server.stop();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    std::printf("stop() with 16 idle connections: %lld ms\n", static_cast<long long>(ms.count()));
    RecordProperty("stop_ms", static_cast<int>(ms.count()));
}

TEST(MetricsServerBind, ANonLoopbackAddressIsServedWithAWarning) {
    std::ostringstream text;
    LogContext log{{std::make_shared<spdlog::sinks::ostream_sink_mt>(text)}, spdlog::level::info};
    MetricsServer server{[] { return std::string(); }, log};
    ASSERT_TRUE(server.start({{0, 0, 0, 0}, 0}).is_ok());
    server.stop();
    EXPECT_NE(text.str().find("not a loopback address: it has no authentication"), std::string::npos) << text.str();
}

std::string get_metrics_from(std::uint16_t port, bool ipv6) {
    UniqueFd fd = connect_to(port, ipv6);
    if (fd.get() < 0 || !send_all(fd.get(), "GET /metrics HTTP/1.1\r\n\r\n")) return "no connection";
    return read_all(fd.get());
}

// [::1] is loopback (no warning) and takes IPv6 only; [::] takes both families and is not loopback.
TEST(MetricsServerBind, Ipv6AddressesAreServed) {
    std::ostringstream text;
    LogContext log{{std::make_shared<spdlog::sinks::ostream_sink_mt>(text)}, spdlog::level::info};
    MetricsServer loopback{[] { return std::string("tempos_up 1\n"); }, log};
    Ipv6 one{};
    one[15] = 1;
    ASSERT_TRUE(loopback.start({{}, 0, one}).is_ok());
    const std::uint16_t port = loopback.local_address().port;
    ASSERT_NE(port, 0);
    EXPECT_EQ(loopback.local_address(), (SocketAddress{{}, port, one}));
    EXPECT_TRUE(get_metrics_from(port, true).ends_with("tempos_up 1\n"));
    EXPECT_EQ(get_metrics_from(port, false), "no connection") << "[::1] takes no IPv4";
    loopback.stop();
    EXPECT_EQ(text.str().find("not a loopback address"), std::string::npos) << text.str();

    MetricsServer any{[] { return std::string("tempos_up 1\n"); }, log};
    ASSERT_TRUE(any.start({{}, 0, Ipv6{}}).is_ok());
    const std::uint16_t any_port = any.local_address().port;
    EXPECT_TRUE(get_metrics_from(any_port, true).ends_with("tempos_up 1\n"));
    EXPECT_TRUE(get_metrics_from(any_port, false).ends_with("tempos_up 1\n")) << "[::] is dual-stack";
    any.stop();
    EXPECT_NE(text.str().find("metrics endpoint [::]:" + std::to_string(any_port) + " is not a loopback address"),
              std::string::npos)
        << text.str();
}

}  // namespace
}  // namespace tempos::mom
