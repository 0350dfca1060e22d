// The mapping of the kernel's send failures and error-queue entries to the reasons /metrics reports.
#include <gtest/gtest.h>

#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>

#include <cerrno>
#include <set>
#include <string>

#include "send_error_reason.hpp"

namespace tempos::xdp {
namespace {

sock_extended_err queued(std::uint8_t origin, std::uint8_t type, std::uint8_t code) {
    sock_extended_err error{};
    error.ee_origin = origin;
    error.ee_type = type;
    error.ee_code = code;
    return error;
}

TEST(SendErrorReason, ErrnosOfAFailedSend) {
    EXPECT_EQ(reason_of_errno(EAGAIN), SendErrorReason::would_block);
    EXPECT_EQ(reason_of_errno(EWOULDBLOCK), SendErrorReason::would_block);
    EXPECT_EQ(reason_of_errno(ENOBUFS), SendErrorReason::no_buffers);
    EXPECT_EQ(reason_of_errno(ECONNREFUSED), SendErrorReason::refused);
    for (int err : {EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENONET})
        EXPECT_EQ(reason_of_errno(err), SendErrorReason::unreachable) << err;
    EXPECT_EQ(reason_of_errno(EMSGSIZE), SendErrorReason::too_big);
    EXPECT_EQ(reason_of_errno(EPERM), SendErrorReason::denied);
    EXPECT_EQ(reason_of_errno(EACCES), SendErrorReason::denied);
    EXPECT_EQ(reason_of_errno(EINVAL), SendErrorReason::other);
    EXPECT_EQ(reason_of_errno(0), SendErrorReason::other);
}

TEST(SendErrorReason, FailedSendsWereNotSentIcmpErrorsWere) {
    for (int err : {EAGAIN, ENOBUFS, ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, EPERM, EINVAL})
        EXPECT_FALSE(was_sent(reason_of_errno(err))) << err;
    EXPECT_TRUE(was_sent(SendErrorReason::icmp_port_unreachable));
    EXPECT_TRUE(was_sent(SendErrorReason::icmp_other));
}

// ICMP and ICMPv6 (IPV6_RECVERR) errors from the error queue, under one set of reasons: /metrics has one set of
// labels for both families.
TEST(SendErrorReason, IcmpAndIcmpv6ErrorsFromTheErrorQueue) {
    const struct {
        std::uint8_t origin, type, code;
        SendErrorReason reason;
    } cases[] = {
        {SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, SendErrorReason::icmp_port_unreachable},
        {SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, SendErrorReason::icmp_host_unreachable},
        {SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, SendErrorReason::icmp_net_unreachable},
        {SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, SendErrorReason::icmp_frag_needed},
        {SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, SendErrorReason::icmp_prohibited},
        {SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, SendErrorReason::icmp_other},
        {SO_EE_ORIGIN_ICMP, ICMP_TIME_EXCEEDED, 0, SendErrorReason::icmp_other},
        {SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, SendErrorReason::icmp_port_unreachable},
        {SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR, SendErrorReason::icmp_host_unreachable},
        {SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE, SendErrorReason::icmp_net_unreachable},
        {SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN, SendErrorReason::icmp_prohibited},
        {SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, 6, SendErrorReason::icmp_prohibited},  // reject route
        {SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_BEYONDSCOPE, SendErrorReason::icmp_other},
        {SO_EE_ORIGIN_ICMP6, ICMP6_PACKET_TOO_BIG, 0, SendErrorReason::icmp_frag_needed},
        {SO_EE_ORIGIN_ICMP6, ICMP6_TIME_EXCEEDED, 0, SendErrorReason::icmp_other},
    };
    for (const auto& c : cases)
        EXPECT_EQ(reason_of_queued_error(queued(c.origin, c.type, c.code)), c.reason)
            << (c.origin == SO_EE_ORIGIN_ICMP ? "ICMP" : "ICMPv6") << " type " << int(c.type) << " code "
            << int(c.code);
}

// A local error is queued and also returned by the send that failed: counted there, not a second time.
TEST(SendErrorReason, LocalErrorsInTheQueueAreNotCountedAgain) {
    EXPECT_EQ(reason_of_queued_error(queued(SO_EE_ORIGIN_LOCAL, 0, 0)), std::nullopt);
    EXPECT_EQ(reason_of_queued_error(queued(SO_EE_ORIGIN_NONE, 0, 0)), std::nullopt);
}

TEST(SendErrorReason, ErrnosOfIcmpErrorsMayBeDeferredOthersNot) {
    for (int err : {ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENONET, EPROTO, EMSGSIZE})
        EXPECT_TRUE(may_be_deferred_error(err)) << err;
    for (int err : {EAGAIN, ENOBUFS, EPERM, EINVAL, EINTR}) EXPECT_FALSE(may_be_deferred_error(err)) << err;
}

TEST(SendErrorReason, NamesAreDistinctLabelValues) {
    std::set<std::string> names;
    for (std::size_t r = 0; r < kSendErrorReasons; ++r) {
        const std::string name = to_string(static_cast<SendErrorReason>(r));
        EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos) << name;
        EXPECT_EQ(was_sent(static_cast<SendErrorReason>(r)), name.starts_with("icmp_")) << name;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), kSendErrorReasons);
}

}  // namespace
}  // namespace tempos::xdp
