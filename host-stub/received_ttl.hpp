// The IP TTL (IPv4) or hop limit (IPv6) of each datagram the ingress socket receives (IP_RECVTTL,
// IPV6_RECVHOPLIMIT). An event that reaches the socket path
// with TTL <= 1 is dropped and counted (tempos_ingress_discarded_total{reason="ttl_expired"}): sending it on
// would give it a fresh TTL, so a routing loop through this MoM would never end. The kernel path passes such
// frames up (TEMPOS_PASS_TTL) instead of forwarding them, so both paths end a loop the same way.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <optional>

#include "tempos/status.hpp"

namespace tempos::mom {

// Room for the IP_TTL or IPV6_HOPLIMIT control message (one per datagram) in each msghdr given to recvmmsg.
inline constexpr std::size_t kTtlControlSize = CMSG_SPACE(sizeof(int));

// Asks the kernel to report each datagram's TTL; on an AF_INET6 socket also the hop limit of IPv6 datagrams (the
// TTL then covers the IPv4 ones a dual-stack socket receives).
Status enable_received_ttl(int fd, int family);

// The TTL or hop limit of a received message, if the kernel reported it.
std::optional<int> received_ttl(const msghdr& message);

// Whether an event with this TTL must not be sent on.
inline bool ttl_expired(std::optional<int> ttl) { return ttl && *ttl <= 1; }

}  // namespace tempos::mom
