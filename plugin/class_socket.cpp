#include "class_socket.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "tempos/system_status.hpp"

namespace tempos::xdp {

namespace {
// TC_PRIO_INTERACTIVE: with a priority qdisc (pfifo_fast, prio) on the egress device, strict copies leave from the
// first band, ahead of best-effort ones. Without one it changes nothing.
constexpr int kStrictPriority = 6;
}  // namespace

Result<ClassSocket> ClassSocket::open(Qos qos, int family) {
    const bool v6 = family == AF_INET6;
    UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) return system_status(v6 ? "UDP socket (AF_INET6)" : "UDP socket", errno);
    const int on = 1;
    // IPv4 copies leave through the AF_INET socket: this one carries IPv6 only.
    if (v6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
        return system_status("setsockopt(IPV6_V6ONLY)", errno);
    if (v6 ? ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) != 0
           : ::setsockopt(fd.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof on) != 0)
        return system_status(v6 ? "setsockopt(IPV6_RECVERR)" : "setsockopt(IP_RECVERR)", errno);
    if (qos == Qos::strict &&
        ::setsockopt(fd.get(), SOL_SOCKET, SO_PRIORITY, &kStrictPriority, sizeof kStrictPriority) != 0)
        return system_status("setsockopt(SO_PRIORITY)", errno);
    return ClassSocket(std::move(fd), family, qos != Qos::strict);
}

ClassSocket::Sent ClassSocket::send(std::span<mmsghdr> messages, std::span<int> errors) const {
    std::size_t done = 0;
    Sent result;
    bool retried = false;
    int waits = 0;  // for room, since the last progress
    // Every round sends >= 1 message, retries the current one once, waits for room (best-effort, bounded), or gives
    // it up.
    while (done < messages.size()) {
        const int n = ::sendmmsg(fd_.get(), messages.data() + done, static_cast<unsigned>(messages.size() - done),
                                 MSG_DONTWAIT);
        if (n > 0) {
            for (std::size_t i = done; i < done + static_cast<std::size_t>(n); ++i) errors[i] = 0;
            done += static_cast<std::size_t>(n);
            result.sent += static_cast<std::size_t>(n);
            retried = false;
            waits = 0;
            continue;
        }
        const int err = n < 0 ? errno : EIO;
        if (err == EAGAIN && waits_for_room_ && waits < kRoomWaits) {
            ++waits;
            pollfd room{fd_.get(), POLLOUT, 0};
            ::poll(&room, 1, kRoomWaitMs);
            continue;
        }
        if (may_be_deferred_error(err)) result.errors_queued = true;
        if (!retried && (err == EINTR || may_be_deferred_error(err))) {
            retried = true;
            continue;
        }
        errors[done++] = err;
        retried = false;
    }
    return result;
}

std::size_t ClassSocket::read_error_queue(const ErrorSink& sink, std::size_t limit) const {
    std::size_t read = 0;
    for (; read < limit; ++read) {
        std::uint8_t payload[16];  // the original datagram's payload, of which only the topic byte is needed
        iovec data{payload, sizeof payload};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(sock_extended_err) + sizeof(sockaddr_in6))];
        msghdr message{};
        message.msg_iov = &data;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(fd_.get(), &message, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (n < 0) break;  // EAGAIN: the queue is empty
        for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
            const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
            const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
            if (!v4 && !v6) continue;
            sock_extended_err error;
            std::memcpy(&error, CMSG_DATA(c), sizeof error);
            const std::optional<SendErrorReason> reason = reason_of_queued_error(error);
            // Linux quotes at least the first payload bytes of the datagram; an entry without them names no topic.
            if (reason && n > 0) sink(payload[0], *reason);
        }
    }
    return read;
}

}  // namespace tempos::xdp
