#include "socket_name.hpp"

#include <cstring>

namespace tempos::mom {

SocketEndpoint to_sockaddr(const SocketAddress& address) {
    SocketEndpoint name;
    if (address.ip6) {
        auto* addr = reinterpret_cast<sockaddr_in6*>(&name.addr);
        addr->sin6_family = AF_INET6;
        addr->sin6_port = htons(address.port);
        std::memcpy(&addr->sin6_addr, address.ip6->data(), address.ip6->size());
        name.length = sizeof(sockaddr_in6);
    } else {
        auto* addr = reinterpret_cast<sockaddr_in*>(&name.addr);
        addr->sin_family = AF_INET;
        addr->sin_port = htons(address.port);
        std::memcpy(&addr->sin_addr, address.ip.data(), 4);
        name.length = sizeof(sockaddr_in);
    }
    return name;
}

}  // namespace tempos::mom
