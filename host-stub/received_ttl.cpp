#include "received_ttl.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "tempos/system_status.hpp"

namespace tempos::mom {

Status enable_received_ttl(int fd) {
    const int on = 1;
    if (::setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on) != 0) return system_status("IP_RECVTTL", errno);
    return Status::ok();
}

std::optional<int> received_ttl(const msghdr& message) {
    for (const cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&message),
                                                                                    const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_TTL || c->cmsg_len < CMSG_LEN(sizeof(int))) continue;
        int ttl = 0;
        std::memcpy(&ttl, CMSG_DATA(c), sizeof ttl);
        return ttl;
    }
    return std::nullopt;
}

}  // namespace tempos::mom
