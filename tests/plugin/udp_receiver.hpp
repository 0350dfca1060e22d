// A subscriber for tests: a UDP socket on 127.0.0.1 (or a given IPv4 or IPv6 address) with an ephemeral port and
// a bounded receive timeout, so a lost datagram fails a test instead of hanging it.
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
        sockaddr_in address{};
        address.sin_family = AF_INET;
        std::copy(ip.begin(), ip.end(), reinterpret_cast<std::uint8_t*>(&address.sin_addr.s_addr));
        open(AF_INET, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    }
    // An IPv6 one (IPV6_V6ONLY), e.g. on ::1.
    explicit UdpReceiver(const Ipv6& ip) : ip6_(ip) {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        std::copy(ip.begin(), ip.end(), address.sin6_addr.s6_addr);
        open(AF_INET6, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    }
    ~UdpReceiver() { ::close(fd_); }
    UdpReceiver(const UdpReceiver&) = delete;
    UdpReceiver& operator=(const UdpReceiver&) = delete;

    Endpoint endpoint() const { return Endpoint{ip_, port_, std::nullopt, ip6_}; }

    // The next datagram, or nullopt after the timeout.
    std::optional<std::vector<std::uint8_t>> receive() {
        std::vector<std::uint8_t> buffer(65536);  // a UDP datagram's largest payload
        sockaddr_storage source{};
        socklen_t length = sizeof source;
        const ssize_t n =
            ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&source), &length);
        if (n < 0) return std::nullopt;
        // sin_port and sin6_port are at the same offset.
        last_source_port_ = ntohs(reinterpret_cast<const sockaddr_in*>(&source)->sin_port);
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
    void open(int family, sockaddr* address, socklen_t size) {
        fd_ = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        const int on = 1;
        if (family == AF_INET6) ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        if (::bind(fd_, address, size) != 0) throw std::runtime_error("bind");
        sockaddr_storage bound{};
        socklen_t length = sizeof(bound);
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
        port_ = ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
        timeval timeout{2, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    }

    Ipv4 ip_{};
    std::optional<Ipv6> ip6_;
    std::uint16_t port_ = 0;
    std::uint16_t last_source_port_ = 0;
    int fd_ = -1;
};

}  // namespace tempos::test
