// A subscriber for tests: a UDP socket on 127.0.0.1 (or a given address) with an ephemeral port and a bounded
// receive timeout, so a lost datagram fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "tempos/adapter.hpp"

namespace tempos::test {

class UdpReceiver {
public:
    explicit UdpReceiver(Ipv4 ip = {127, 0, 0, 1}) : ip_(ip) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        std::copy(ip.begin(), ip.end(), reinterpret_cast<std::uint8_t*>(&address.sin_addr.s_addr));
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
            throw std::runtime_error("bind");
        socklen_t length = sizeof(address);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        timeval timeout{2, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    }
    ~UdpReceiver() { ::close(fd_); }
    UdpReceiver(const UdpReceiver&) = delete;
    UdpReceiver& operator=(const UdpReceiver&) = delete;

    Endpoint endpoint() const { return Endpoint{ip_, port_, std::nullopt}; }

    // The next datagram, or nullopt after the timeout.
    std::optional<std::vector<std::uint8_t>> receive() {
        std::vector<std::uint8_t> buffer(65536);  // a UDP datagram's largest payload
        sockaddr_in source{};
        socklen_t length = sizeof source;
        const ssize_t n =
            ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&source), &length);
        if (n < 0) return std::nullopt;
        last_source_port_ = ntohs(source.sin_port);
        buffer.resize(static_cast<std::size_t>(n));
        return buffer;
    }

    // The source port of the datagram receive() returned last.
    std::uint16_t last_source_port() const { return last_source_port_; }

    // Whether a datagram is waiting right now (no wait).
    bool has_pending() {
        std::uint8_t byte;
        return ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
    }

private:
    Ipv4 ip_;
    std::uint16_t port_ = 0;
    std::uint16_t last_source_port_ = 0;
    int fd_ = -1;
};

}  // namespace tempos::test
