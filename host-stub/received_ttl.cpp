#include "received_ttl.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "tempos/system_status.hpp"

namespace tempos::mom {

Status enable_received_ttl(int fd, int family) {
    const int on = 1;
    if (::setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on) != 0) return system_status("IP_RECVTTL", errno);
    if (family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) != 0)
        return system_status("IPV6_RECVHOPLIMIT", errno);
    return Status::ok();
}

std::optional<int> received_ttl(const msghdr& message) {
    for (const cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&message),
                                                                                    const_cast<cmsghdr*>(c))) {
        const bool ipv4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL;
        const bool ipv6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT;
        if ((!ipv4 && !ipv6) || c->cmsg_len < CMSG_LEN(sizeof(int))) continue;
        int ttl = 0;
        std::memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
        return ttl;
    }
    return std::nullopt;
}

}  // namespace tempos::mom
