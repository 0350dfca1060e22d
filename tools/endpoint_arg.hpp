// "IP:PORT" command-line arguments of the tools, as a sockaddr_in.
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

namespace tempos::tools {

inline std::optional<sockaddr_in> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr.sin_addr) != 1) return std::nullopt;
    unsigned port = 0;
    const char* first = text.data() + colon + 1;
    const char* last = text.data() + text.size();
    const auto [end, ec] = std::from_chars(first, last, port);
    if (ec != std::errc() || end != last || port == 0 || port > 65535) return std::nullopt;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    return addr;
}

// A UDP socket for the endpoint given as option `option` of `tool`. On failure fd is -1, why is on stderr and
// exit_status says what the tool exits with: 2 for a malformed endpoint, 1 when socket() fails.
struct EndpointSocket {
    int fd = -1;
    sockaddr_in addr{};
    int exit_status = 0;
};

inline EndpointSocket open_endpoint_socket(const char* tool, const char* option, const std::string& text) {
    EndpointSocket s;
    const auto addr = parse_endpoint(text);
    if (!addr) {
        std::fprintf(stderr, "%s: %s must be IPv4:PORT, got '%s'\n", tool, option, text.c_str());
        s.exit_status = 2;
        return s;
    }
    s.addr = *addr;
    s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
        std::fprintf(stderr, "%s: socket: %s\n", tool, std::strerror(errno));
        s.exit_status = 1;
    }
    return s;
}

}  // namespace tempos::tools
