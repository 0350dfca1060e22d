// A socket address of either family as the kernel takes it (a sockaddr_in or a sockaddr_in6 of `length` bytes), for
// bind(), connect(), sendto() and getsockname(): the tools' parsed arguments and tempos-mom's sockets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

namespace tempos {

struct SocketEndpoint {
    sockaddr_storage addr{};
    socklen_t length = 0;
    int family() const { return addr.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&addr); }
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&addr); }
    std::uint16_t port() const {
        return ntohs(family() == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    }
};

}  // namespace tempos
