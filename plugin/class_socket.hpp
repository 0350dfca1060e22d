// One UDP socket per QoS class for the socket path's copies, so that the strict dispatcher never waits behind
// best-effort sends: non-blocking (for the strict class a full buffer is a counted failure, not a sleep; the
// best-effort one, whose dispatcher has a thread and a queue of its own, waits a bounded time for room first, so
// that a burst, e.g. the events a held socket kept through a restart, is sent rather than refused), IP_RECVERR
// (the kernel reports ENOBUFS from a full qdisc instead of swallowing it, and queues ICMP errors for the copies
// it sent). One per family: an AF_INET6 one (IPV6_V6ONLY, IPV6_RECVERR) sends the copies to IPv6 subscribers.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "send_error_reason.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

class ClassSocket {
public:
    // family: AF_INET or AF_INET6.
    static Result<ClassSocket> open(Qos qos, int family = AF_INET);

    // Sends each message once, never blocking; a best-effort socket whose send buffer is full (EAGAIN) waits up to
    // kRoomWaits x kRoomWaitMs without progress for room. errors[i] is 0 for a message sent, else the errno the
    // kernel refused it with. A message refused with an error that may be an earlier datagram's
    // (may_be_deferred_error) is tried once more: the first attempt only consumed that pending error.
    struct Sent {
        std::size_t sent = 0;
        bool errors_queued = false;  // a deferred error was seen: ICMP errors wait in the error queue
    };
    Sent send(std::span<mmsghdr> messages, std::span<int> errors) const;

    // Reads at most `limit` entries of the error queue without blocking; for each ICMP error calls
    // sink(topic, reason), the topic being the first byte of the original payload the kernel returns.
    // Returns how many entries were read.
    using ErrorSink = std::function<void(std::uint8_t topic, SendErrorReason reason)>;
    std::size_t read_error_queue(const ErrorSink& sink, std::size_t limit) const;

    int fd() const { return fd_.get(); }
    int family() const { return family_; }

    static constexpr int kRoomWaits = 10, kRoomWaitMs = 10;

private:
    ClassSocket(UniqueFd fd, int family, bool waits_for_room)
        : fd_(std::move(fd)), family_(family), waits_for_room_(waits_for_room) {}
    UniqueFd fd_;
    int family_;
    bool waits_for_room_ = false;
};

}  // namespace tempos::xdp
