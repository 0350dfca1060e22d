// A configured SocketAddress as the kernel's sockaddr (sockaddr_in or sockaddr_in6), for bind() and
// getsockname(): one conversion for the ingress sockets and the metrics endpoint.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "config.hpp"

namespace tempos::mom {

struct SocketName {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family() const { return storage.ss_family; }
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
    std::uint16_t port() const;
};

SocketName to_sockaddr(const SocketAddress& address);

}  // namespace tempos::mom
