// Why a copy sent from user space failed: the kernel's answer mapped to a small, stable set of reasons, the
// `reason` label of tempos_adapter_send_errors_by_reason_total. Two kinds:
//  - the send itself failed (the copy never left): would_block .. other; counted in socket_errors, never as sent;
//  - icmp_*: the copy was sent (and counted as sent), then an ICMP error came back for it and was read from the
//    socket's error queue (IP_RECVERR). It is a loss at the subscriber, reported after the fact.
#pragma once

#include <time.h>  // before linux/errqueue.h, which uses struct timespec

#include <linux/errqueue.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace tempos::xdp {

enum class SendErrorReason : std::uint8_t {
    would_block,   // EAGAIN: the socket's send buffer is full (the socket never blocks)
    no_buffers,    // ENOBUFS: a qdisc or device queue refused the frame, or no memory
    refused,       // ECONNREFUSED: an earlier ICMP port unreachable, reported again on the retry
    unreachable,   // EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENONET: no route or no neighbour
    too_big,       // EMSGSIZE
    denied,        // EPERM, EACCES: a firewall rule or a prohibit route
    other,         // any other errno
    icmp_port_unreachable,
    icmp_host_unreachable,
    icmp_net_unreachable,
    icmp_frag_needed,
    icmp_prohibited,
    icmp_other,
    count_
};
inline constexpr std::size_t kSendErrorReasons = static_cast<std::size_t>(SendErrorReason::count_);

const char* to_string(SendErrorReason reason);
// True for the reasons of copies that were sent (icmp_*).
constexpr bool was_sent(SendErrorReason reason) { return reason >= SendErrorReason::icmp_port_unreachable; }

// The reason of a failed sendmsg/sendmmsg.
SendErrorReason reason_of_errno(int err);
// The reason of an entry of the socket's error queue; nullopt for what was already counted when the send failed
// (SO_EE_ORIGIN_LOCAL: the kernel queues local errors and also returns them from the send).
std::optional<SendErrorReason> reason_of_queued_error(const sock_extended_err& error);

// An errno a send returns for an error that belongs to an earlier datagram (an ICMP error recorded on the socket
// as its pending error, which the next send consumes before trying): the copy itself was not tried, so it is
// worth one retry.
bool may_be_deferred_error(int err);

}  // namespace tempos::xdp
