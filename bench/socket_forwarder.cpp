// tempos-socket-forwarder: the bare-sockets baseline of `tempos-bench throughput`. One thread, one UDP socket:
// recvmmsg a batch, sendmmsg it unchanged to one destination. No topics, no queues, no adapter: what a
// user-space broker costs at the very least. Stops after --seconds.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>

#include <CLI/CLI.hpp>

#include "endpoint_arg.hpp"

int main(int argc, char** argv) {
    CLI::App app{"tempos-socket-forwarder: recvmmsg/sendmmsg UDP forwarder (benchmark baseline)"};
    std::string listen, to;
    double seconds = 10;
    app.add_option("--listen", listen, "IP:PORT to bind")->required();
    app.add_option("--to", to, "IP:PORT to forward every datagram to")->required();
    app.add_option("--seconds", seconds, "stop after this long")->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    const auto local = tempos::tools::parse_endpoint(listen);
    const auto dest = tempos::tools::parse_endpoint(to);
    if (!local || !dest) {
        std::fprintf(stderr, "tempos-socket-forwarder: endpoints are IPv4:PORT\n");
        return 2;
    }
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int buf = 8 << 20;
    for (const int option : {SO_RCVBUF, SO_SNDBUF}) setsockopt(fd, SOL_SOCKET, option, &buf, sizeof(buf));
    const timeval tick{0, 100'000};  // wake up to check the deadline
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
    if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&*local), sizeof(*local)) != 0) {
        std::fprintf(stderr, "tempos-socket-forwarder: bind %s: %s\n", listen.c_str(), std::strerror(errno));
        return 1;
    }
    constexpr int kBatch = 64;
    std::array<std::array<char, 2048>, kBatch> data{};
    std::array<iovec, kBatch> iov{}, out_iov{};  // out_iov: the lengths received
    std::array<mmsghdr, kBatch> in{}, out{};
    sockaddr_in to_addr = *dest;
    for (int i = 0; i < kBatch; ++i) {
        iov[i] = {data[i].data(), data[i].size()};
        in[i].msg_hdr.msg_iov = &iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        out[i].msg_hdr.msg_name = &to_addr;
        out[i].msg_hdr.msg_namelen = sizeof(to_addr);
        out[i].msg_hdr.msg_iov = &out_iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned long long received = 0, sent = 0;
    const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < stop) {
        const int n = recvmmsg(fd, in.data(), kBatch, MSG_WAITFORONE, nullptr);
        if (n <= 0) continue;
        received += static_cast<unsigned>(n);
        for (int i = 0; i < n; ++i) out_iov[i] = {data[i].data(), in[i].msg_len};
        const int s = sendmmsg(fd, out.data(), static_cast<unsigned>(n), 0);
        if (s > 0) sent += static_cast<unsigned>(s);
    }
    std::printf("{\"received\": %llu, \"sent\": %llu}\n", received, sent);
    close(fd);
    return 0;
}
