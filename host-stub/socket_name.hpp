// A configured SocketAddress as the kernel's socket address (tempos/socket_endpoint.hpp): one conversion for the
// ingress sockets and the metrics endpoint.
#pragma once

#include "config.hpp"
#include "tempos/socket_endpoint.hpp"

namespace tempos::mom {

SocketEndpoint to_sockaddr(const SocketAddress& address);

}  // namespace tempos::mom
