// The socket path with real UDP sockets on 127.0.0.1: who receives which event.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <thread>

#include "network_interface.hpp"
#include "socket_path.hpp"
#include "udp_receiver.hpp"

namespace tempos::xdp {
namespace {

using test::UdpReceiver;

std::unique_ptr<SocketPath> open_path() {
    auto opened = SocketPath::open();
    if (!opened) ADD_FAILURE() << opened.message();
    return std::move(opened.value());
}

std::vector<std::uint8_t> event(std::uint8_t topic, std::uint8_t sequence) { return {topic, sequence, 0xee}; }

TEST(SocketPath, RoundRobinWithinAGroup) {
    auto path = open_path();
    UdpReceiver a, b, c;
    path->set_topic(TopicConfig{7, Qos::best_effort, {SubscriptionGroup{{a.endpoint(), b.endpoint(), c.endpoint()}}}});
    for (std::uint8_t i = 0; i < 9; ++i) ASSERT_TRUE(path->send(7, event(7, i)).is_ok());
    UdpReceiver* members[] = {&a, &b, &c};
    for (std::uint8_t i = 0; i < 9; ++i) {
        auto got = members[i % 3]->receive();
        ASSERT_TRUE(got) << "event " << int(i);
        EXPECT_EQ(*got, event(7, i)) << "event " << int(i) << " went to the wrong member";
    }
    for (auto* member : members) EXPECT_FALSE(member->has_pending());
}

TEST(SocketPath, OneCopyPerGroup) {
    auto path = open_path();
    UdpReceiver g1a, g1b, g2a, g3a;
    path->set_topic(TopicConfig{9, Qos::best_effort,
                                {SubscriptionGroup{{g1a.endpoint(), g1b.endpoint()}},
                                 SubscriptionGroup{{g2a.endpoint()}}, SubscriptionGroup{{g3a.endpoint()}}}});
    for (std::uint8_t i = 0; i < 4; ++i) ASSERT_TRUE(path->send(9, event(9, i)).is_ok());
    for (std::uint8_t i = 0; i < 4; ++i) {
        EXPECT_EQ(g2a.receive(), event(9, i));
        EXPECT_EQ(g3a.receive(), event(9, i));
        EXPECT_EQ((i % 2 ? g1b : g1a).receive(), event(9, i));
    }
    for (auto* r : {&g1a, &g1b, &g2a, &g3a}) EXPECT_FALSE(r->has_pending());
    const SocketCounters counters = path->counters(9);
    EXPECT_EQ(counters.sent, 12u);  // 4 events x 3 groups
    EXPECT_EQ(counters.bytes, 36u);
    EXPECT_EQ(counters.errors, 0u);
    EXPECT_EQ(path->counters(8).sent, 0u);
}

TEST(SocketPath, UnconfiguredAndRemovedTopicsAreErrors) {
    auto path = open_path();
    UdpReceiver a;
    EXPECT_EQ(path->send(1, event(1, 0)).code(), ErrorCode::invalid_argument);
    path->set_topic(TopicConfig{1, Qos::best_effort, {SubscriptionGroup{{a.endpoint()}}}});
    EXPECT_TRUE(path->has_topic(1));
    EXPECT_TRUE(path->send(1, event(1, 0)).is_ok());
    path->remove_topic(1);
    EXPECT_FALSE(path->has_topic(1));
    EXPECT_EQ(path->send(1, event(1, 1)).code(), ErrorCode::invalid_argument);
    EXPECT_EQ(a.receive(), event(1, 0));
    EXPECT_FALSE(a.has_pending());
}

TEST(SocketPath, ReconfigurationReplacesTheMembers) {
    auto path = open_path();
    UdpReceiver old_member, new_member;
    path->set_topic(TopicConfig{2, Qos::best_effort, {SubscriptionGroup{{old_member.endpoint()}}}});
    ASSERT_TRUE(path->send(2, event(2, 0)).is_ok());
    path->set_topic(TopicConfig{2, Qos::best_effort, {SubscriptionGroup{{new_member.endpoint()}}}});
    ASSERT_TRUE(path->send(2, event(2, 1)).is_ok());
    EXPECT_EQ(old_member.receive(), event(2, 0));
    EXPECT_EQ(new_member.receive(), event(2, 1));
    EXPECT_FALSE(old_member.has_pending());
}

// Two dispatcher threads share the group's cursor: the members still get exactly equal shares.
TEST(SocketPath, ConcurrentSendersShareTheRoundRobin) {
    auto path = open_path();
    UdpReceiver a, b, c;
    path->set_topic(TopicConfig{4, Qos::best_effort, {SubscriptionGroup{{a.endpoint(), b.endpoint(), c.endpoint()}}}});
    constexpr int kPerThread = 60;
    auto sender = [&](std::uint8_t tag) {
        for (int i = 0; i < kPerThread; ++i) EXPECT_TRUE(path->send(4, event(4, tag)).is_ok());
    };
    std::thread t1(sender, 1), t2(sender, 2);
    t1.join();
    t2.join();
    for (auto* member : {&a, &b, &c}) {
        for (int i = 0; i < 2 * kPerThread / 3; ++i) ASSERT_TRUE(member->receive()) << "datagram " << i;
        EXPECT_FALSE(member->has_pending());
    }
    EXPECT_EQ(path->counters(4).sent, 2u * kPerThread);
}

std::uint16_t local_port(int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);  // sin6_port is at the same offset
}

std::uint64_t reason_count(const SocketCounters& counters, SendErrorReason reason) {
    return counters.by_reason[static_cast<std::size_t>(reason)];
}

// A port nobody listens on: a receiver's, closed again.
Endpoint closed_port() {
    UdpReceiver gone;
    return gone.endpoint();
}

// Waits (bounded) until the socket reports an error (POLLERR: its error queue is not empty).
bool error_pending(const ClassSocket& socket) {
    pollfd pfd{socket.fd(), 0, 0};
    return ::poll(&pfd, 1, 2000) == 1 && (pfd.revents & POLLERR) != 0;
}

const Ipv6 kLoopback6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// A port nobody listens on, on ::1.
Endpoint closed_port6() {
    UdpReceiver gone(kLoopback6);
    return gone.endpoint();
}

// IPv6 subscribers get their copies through the class's AF_INET6 socket, next to IPv4 ones of the same topic and
// group (docs/ipv6.md): round-robin and one copy per group as for IPv4, the same counters.
TEST(SocketPath, Ipv6AndIpv4MembersMixInOneTopic) {
    auto path = open_path();
    ASSERT_NE(path->socket6(Qos::strict), nullptr) << "this host has no IPv6";
    const ClassSocket& strict6 = *path->socket6(Qos::strict);
    EXPECT_EQ(strict6.family(), AF_INET6);
    int only = 0, recverr = 0;
    socklen_t length = sizeof only;
    ASSERT_EQ(::getsockopt(strict6.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &only, &length), 0);
    EXPECT_EQ(only, 1) << "IPv4 copies leave through the AF_INET socket";
    ASSERT_EQ(::getsockopt(strict6.fd(), IPPROTO_IPV6, IPV6_RECVERR, &recverr, &length), 0);
    EXPECT_EQ(recverr, 1);
    EXPECT_NE(::fcntl(strict6.fd(), F_GETFL) & O_NONBLOCK, 0);

    UdpReceiver v6a(kLoopback6), v4b, v6c(kLoopback6), v6_group(kLoopback6);
    EXPECT_TRUE(path->check_topic(TopicConfig{3, Qos::strict, {SubscriptionGroup{{v6a.endpoint()}}}}).is_ok());
    path->set_topic(TopicConfig{3, Qos::strict,
                                {SubscriptionGroup{{v6a.endpoint(), v4b.endpoint(), v6c.endpoint()}},
                                 SubscriptionGroup{{v6_group.endpoint()}}}});
    for (std::uint8_t i = 0; i < 6; ++i) ASSERT_TRUE(path->send(3, event(3, i)).is_ok());
    UdpReceiver* members[] = {&v6a, &v4b, &v6c};
    for (std::uint8_t i = 0; i < 6; ++i) {
        EXPECT_EQ(members[i % 3]->receive(), event(3, i)) << "event " << int(i);
        EXPECT_EQ(v6_group.receive(), event(3, i)) << "event " << int(i);
    }
    EXPECT_EQ(v6a.last_source_port(), local_port(strict6.fd()));
    EXPECT_EQ(v4b.last_source_port(), local_port(path->socket(Qos::strict).fd()));
    for (auto* r : {&v6a, &v4b, &v6c, &v6_group}) EXPECT_FALSE(r->has_pending());
    const SocketCounters counters = path->counters(3);
    EXPECT_EQ(counters.sent, 12u);
    EXPECT_EQ(counters.bytes, 36u);
    EXPECT_EQ(counters.errors, 0u);
}

// ICMPv6 port unreachable counts as icmp_port_unreachable, like ICMP's: the same /metrics labels for both families.
TEST(SocketPath, AnIcmpv6ErrorIsCountedLikeAnIcmpOne) {
    auto path = open_path();
    ASSERT_NE(path->socket6(Qos::best_effort), nullptr) << "this host has no IPv6";
    path->set_topic(TopicConfig{6, Qos::best_effort, {SubscriptionGroup{{closed_port6()}}}});
    ASSERT_TRUE(path->send(6, event(6, 0)).is_ok());
    ASSERT_TRUE(error_pending(*path->socket6(Qos::best_effort))) << "no ICMPv6 error arrived within 2 s";
    path->collect_queued_errors();
    const SocketCounters counters = path->counters(6);
    EXPECT_EQ(counters.sent, 1u);
    EXPECT_EQ(counters.errors, 0u);
    EXPECT_EQ(reason_count(counters, SendErrorReason::icmp_port_unreachable), 1u);
}

// Each class has its own socket, non-blocking and with IP_RECVERR; a topic's copies leave through its class's.
TEST(SocketPath, EachClassSendsThroughItsOwnNonBlockingSocket) {
    auto path = open_path();
    const ClassSocket& strict = path->socket(Qos::strict);
    const ClassSocket& best_effort = path->socket(Qos::best_effort);
    ASSERT_NE(strict.fd(), best_effort.fd());
    for (const ClassSocket* socket : {&strict, &best_effort}) {
        EXPECT_NE(::fcntl(socket->fd(), F_GETFL) & O_NONBLOCK, 0);
        int recverr = 0;
        socklen_t length = sizeof recverr;
        ASSERT_EQ(::getsockopt(socket->fd(), IPPROTO_IP, IP_RECVERR, &recverr, &length), 0);
        EXPECT_EQ(recverr, 1);
    }
    UdpReceiver a, b;
    path->set_topic(TopicConfig{1, Qos::strict, {SubscriptionGroup{{a.endpoint()}}}});
    path->set_topic(TopicConfig{2, Qos::best_effort, {SubscriptionGroup{{b.endpoint()}}}});
    ASSERT_TRUE(path->send(1, event(1, 0)).is_ok());
    ASSERT_TRUE(path->send(2, event(2, 0)).is_ok());
    ASSERT_TRUE(a.receive());
    ASSERT_TRUE(b.receive());
    EXPECT_EQ(a.last_source_port(), local_port(strict.fd()));
    EXPECT_EQ(b.last_source_port(), local_port(best_effort.fd()));
    EXPECT_NE(local_port(strict.fd()), local_port(best_effort.fd()));
    // A topic changing class moves to the other socket.
    path->set_topic(TopicConfig{2, Qos::strict, {SubscriptionGroup{{b.endpoint()}}}});
    ASSERT_TRUE(path->send(2, event(2, 1)).is_ok());
    ASSERT_TRUE(b.receive());
    EXPECT_EQ(b.last_source_port(), local_port(strict.fd()));
}

// A copy the kernel refuses is counted by reason and not as sent (a datagram larger than UDP allows: EMSGSIZE).
TEST(SocketPath, ARefusedCopyIsCountedByReasonNotAsSent) {
    auto path = open_path();
    UdpReceiver a;
    path->set_topic(TopicConfig{5, Qos::best_effort, {SubscriptionGroup{{a.endpoint()}}}});
    std::vector<std::uint8_t> huge(70000, 5);
    const Status status = path->send(5, huge);
    EXPECT_EQ(status.code(), ErrorCode::system_error);
    EXPECT_NE(status.message().find("1 of 1 copies not sent"), std::string::npos) << status.message();
    const SocketCounters counters = path->counters(5);
    EXPECT_EQ(counters.sent, 0u);
    EXPECT_EQ(counters.bytes, 0u);
    EXPECT_EQ(counters.errors, 1u);
    EXPECT_EQ(reason_count(counters, SendErrorReason::too_big), 1u);
    EXPECT_FALSE(a.has_pending());
}

// An ICMP port unreachable for a sent copy is read from the error queue: counted as icmp_port_unreachable, on
// its topic, and the copy stays counted as sent (it left; the subscriber's host refused it).
TEST(SocketPath, AnIcmpErrorIsCountedAfterTheCopyWasSent) {
    auto path = open_path();
    path->set_topic(TopicConfig{6, Qos::strict, {SubscriptionGroup{{closed_port()}}}});
    ASSERT_TRUE(path->send(6, event(6, 0)).is_ok());
    ASSERT_TRUE(error_pending(path->socket(Qos::strict))) << "no ICMP error arrived within 2 s";
    path->collect_queued_errors();
    const SocketCounters counters = path->counters(6);
    EXPECT_EQ(counters.sent, 1u);
    EXPECT_EQ(counters.errors, 0u);
    EXPECT_EQ(reason_count(counters, SendErrorReason::icmp_port_unreachable), 1u);
    EXPECT_EQ(path->counters(7).by_reason, (SocketCounters{}.by_reason));
}

// The ICMP error of one subscriber is recorded on the socket as its pending error, which the kernel returns from
// the next send, whatever its destination: that copy must still be sent (retried), and the send reads the queue.
TEST(SocketPath, APendingIcmpErrorDoesNotCostTheNextCopy) {
    auto path = open_path();
    UdpReceiver live;
    path->set_topic(TopicConfig{8, Qos::best_effort, {SubscriptionGroup{{closed_port()}}}});
    path->set_topic(TopicConfig{9, Qos::best_effort, {SubscriptionGroup{{live.endpoint()}}}});
    ASSERT_TRUE(path->send(8, event(8, 0)).is_ok());
    ASSERT_TRUE(error_pending(path->socket(Qos::best_effort))) << "no ICMP error arrived within 2 s";
    const Status next = path->send(9, event(9, 1));
    EXPECT_TRUE(next.is_ok()) << next.message();
    EXPECT_EQ(live.receive(), event(9, 1));
    EXPECT_EQ(path->counters(9).sent, 1u);
    EXPECT_EQ(path->counters(9).errors, 0u);
    // Read by send() itself, without collect_queued_errors().
    EXPECT_EQ(reason_count(path->counters(8), SendErrorReason::icmp_port_unreachable), 1u);
}

TEST(NetworkInterface, LoopbackIsFoundWithItsAddress) {
    auto info = query_interface("lo");
    ASSERT_TRUE(info.is_ok());
    const auto& lo = info.value();
    EXPECT_GT(lo.ifindex, 0);
    ASSERT_TRUE(lo.ipv4);
    EXPECT_EQ(*lo.ipv4, (Ipv4{127, 0, 0, 1}));
    auto by_index = query_interface(lo.ifindex);
    ASSERT_TRUE(by_index.is_ok());
    EXPECT_EQ(by_index.value().name, "lo");
}

TEST(NetworkInterface, MissingInterfaceIsAClearError) {
    auto info = query_interface("tempos-nope0");
    ASSERT_FALSE(info.is_ok());
    EXPECT_EQ(info.code(), ErrorCode::not_found) << info.message();
    EXPECT_NE(info.message().find("tempos-nope0"), std::string::npos);
}

TEST(NetworkInterface, RouteToALoopbackAddressLeavesThroughLo) {
    auto route = route_output_ifindex(Ipv4{127, 0, 0, 1});
    ASSERT_TRUE(route.is_ok()) << route.message();
    EXPECT_EQ(route.value(), query_interface("lo")->ifindex);
    Ipv6 loopback6{};
    loopback6[15] = 1;
    auto route6 = route_output_ifindex(loopback6);
    ASSERT_TRUE(route6.is_ok()) << route6.message();
    EXPECT_EQ(route6.value(), query_interface("lo")->ifindex);
}

}  // namespace
}  // namespace tempos::xdp
