// "IPv4:PORT" / "[IPv6]:PORT" command-line arguments of the tools, as socket addresses.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "tempos/socket_endpoint.hpp"

namespace tempos::tools {

using tempos::SocketEndpoint;

inline std::optional<std::uint16_t> parse_port_text(const std::string& text) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(port);
}

// "10.0.0.1:9000" or "[2001:db8::1]:9000" (no zone).
inline std::optional<SocketEndpoint> parse_socket_endpoint(const std::string& text) {
    SocketEndpoint endpoint;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string::npos) return std::nullopt;
        const auto port = parse_port_text(text.substr(close + 2));
        auto* addr = reinterpret_cast<sockaddr_in6*>(&endpoint.addr);
        if (!port || inet_pton(AF_INET6, text.substr(1, close - 1).c_str(), &addr->sin6_addr) != 1)
            return std::nullopt;
        addr->sin6_family = AF_INET6;
        addr->sin6_port = htons(*port);
        endpoint.length = sizeof(sockaddr_in6);
        return endpoint;
    }
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    const auto port = parse_port_text(text.substr(colon + 1));
    auto* addr = reinterpret_cast<sockaddr_in*>(&endpoint.addr);
    if (!port || inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr->sin_addr) != 1) return std::nullopt;
    addr->sin_family = AF_INET;
    addr->sin_port = htons(*port);
    endpoint.length = sizeof(sockaddr_in);
    return endpoint;
}

// IPv4 only (the benchmark forwarder).
inline std::optional<sockaddr_in> parse_endpoint(const std::string& text) {
    const auto endpoint = parse_socket_endpoint(text);
    if (!endpoint || endpoint->family() != AF_INET) return std::nullopt;
    sockaddr_in addr;
    std::memcpy(&addr, &endpoint->addr, sizeof addr);
    return addr;
}

// A UDP socket for the endpoint given as option `option` of `tool`, of the endpoint's family (an IPv6 one takes
// IPv4 too, as a dual-stack [::] subscriber should). On failure fd is -1, why is on stderr and exit_status says
// what the tool exits with: 2 for a malformed endpoint, 1 when socket() fails.
struct EndpointSocket {
    int fd = -1;
    SocketEndpoint endpoint;
    int exit_status = 0;
};

inline EndpointSocket open_endpoint_socket(const char* tool, const char* option, const std::string& text) {
    EndpointSocket s;
    const auto endpoint = parse_socket_endpoint(text);
    if (!endpoint) {
        std::fprintf(stderr, "%s: %s must be IPv4:PORT or [IPv6]:PORT, got '%s'\n", tool, option, text.c_str());
        s.exit_status = 2;
        return s;
    }
    s.endpoint = *endpoint;
    s.fd = socket(endpoint->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
        std::fprintf(stderr, "%s: socket: %s\n", tool, std::strerror(errno));
        s.exit_status = 1;
        return s;
    }
    const int off = 0;
    if (endpoint->family() == AF_INET6) setsockopt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    return s;
}

}  // namespace tempos::tools
