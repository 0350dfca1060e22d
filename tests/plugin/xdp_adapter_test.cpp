// The adapter through its real plugin boundary (Boost.DLL), without the kernel: xdp_mode off, errors, close().
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <cstdlib>
#include <set>
#include <thread>

#include "adapter_fixture.hpp"
#include "tempos/xdp_abi.h"
#include "udp_receiver.hpp"

namespace tempos::test {
namespace {

class XdpAdapterOff : public LoadedXdpAdapterTest {
protected:
    static ChannelConfig off_channel() {
        ChannelConfig channel;
        channel.options["xdp_mode"] = "off";
        return channel;
    }
};

std::vector<std::uint8_t> event(std::uint8_t topic, std::uint8_t sequence) { return {topic, sequence}; }

// `status` is the error `code` with a message that names `named`.
::testing::AssertionResult refused(const Status& status, ErrorCode code, const std::string& named) {
    if (status.code() == code && status.message().find(named) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected " << error_code_name(code) << " naming '" << named << "', got "
                                         << error_code_name(status.code()) << ": " << status.message();
}

TEST(XdpAdapterPlugin, ExportsOnlyTheTwoAliases) {
    std::FILE* nm = ::popen("nm -D --defined-only " TEMPOS_XDP_ADAPTER_PATH, "r");
    ASSERT_NE(nm, nullptr);
    std::vector<std::string> symbols;
    char line[512];
    while (std::fgets(line, sizeof(line), nm) != nullptr) {
        std::string text(line);
        symbols.push_back(text.substr(text.rfind(' ') + 1, text.find_last_not_of('\n') - text.rfind(' ')));
    }
    ASSERT_EQ(::pclose(nm), 0);
    std::sort(symbols.begin(), symbols.end());
    EXPECT_EQ(symbols, (std::vector<std::string>{"tempos_adapter_abi_version", "tempos_create_adapter"}));
}

TEST_F(XdpAdapterOff, NameAndLoggerName) {
    EXPECT_EQ(adapter().name(), "xdp");
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    const auto records = sink_->records();
    ASSERT_FALSE(records.empty());
    for (const auto& r : records) EXPECT_EQ(r.logger, "xdp_adapter");
}

TEST_F(XdpAdapterOff, EveryTopicGoesThroughSocketsRoundRobinWithOneWarningForStrict) {
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    UdpReceiver a, b, c, other;
    ASSERT_TRUE(adapter()
                    .configure_qos(TopicConfig{1, Qos::strict, {SubscriptionGroup{{a.endpoint(), b.endpoint(), c.endpoint()}}}})
                    .is_ok());
    ASSERT_TRUE(adapter().configure_qos(TopicConfig{2, Qos::strict, {SubscriptionGroup{{other.endpoint()}}}}).is_ok());
    ASSERT_TRUE(adapter().configure_qos(TopicConfig{3, Qos::best_effort, {SubscriptionGroup{{other.endpoint()}}}}).is_ok());
    EXPECT_EQ(sink_->count(spdlog::level::warn), 1) << "exactly one warning that strict topics use sockets";

    for (std::uint8_t i = 0; i < 6; ++i) ASSERT_TRUE(adapter().send(1, event(1, i)).is_ok());
    ASSERT_TRUE(adapter().send(3, event(3, 0)).is_ok());
    UdpReceiver* members[] = {&a, &b, &c};
    for (std::uint8_t i = 0; i < 6; ++i) EXPECT_EQ(members[i % 3]->receive(), event(1, i));
    EXPECT_EQ(other.receive(), event(3, 0));
    for (auto* r : {&a, &b, &c, &other}) EXPECT_FALSE(r->has_pending());

    const AdapterStats stats = adapter().stats();
    EXPECT_EQ(stats.mode, "off");
    ASSERT_EQ(stats.topics.size(), 3u);
    EXPECT_EQ(stats.topics[0].topic, 1);
    EXPECT_EQ(stats.topics[0].socket_sent, 6u);
    EXPECT_EQ(stats.topics[0].socket_bytes, 12u);
    EXPECT_EQ(stats.topics[0].kernel_packets, 0u);
    EXPECT_EQ(stats.topics[1].topic, 2);
    EXPECT_EQ(stats.topics[1].socket_sent, 0u);
    EXPECT_EQ(stats.topics[2].topic, 3);
    EXPECT_EQ(stats.topics[2].socket_sent, 1u);
}

// Two dispatcher threads send while the control thread swaps the group between two member lists: every event
// is delivered exactly once (to one member of one of the lists) and every send() succeeds.
TEST_F(XdpAdapterOff, ConcurrentSendsDuringReconfigurationDeliverEveryEventOnce) {
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    UdpReceiver a1, a2, b1, b2;
    const TopicConfig a{1, Qos::best_effort, {SubscriptionGroup{{a1.endpoint(), a2.endpoint()}}}};
    const TopicConfig b{1, Qos::best_effort, {SubscriptionGroup{{b1.endpoint(), b2.endpoint()}}}};
    ASSERT_TRUE(adapter().configure_qos(a).is_ok());
    constexpr int kPerSender = 100;
    std::atomic<int> failures{0};
    auto sender = [&](std::uint8_t tag) {
        for (int i = 0; i < kPerSender; ++i)
            if (!adapter().send(1, std::vector<std::uint8_t>{1, tag, static_cast<std::uint8_t>(i)}).is_ok()) ++failures;
    };
    std::thread s1(sender, 1), s2(sender, 2);
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(adapter().configure_qos(i % 2 ? a : b).is_ok());
    s1.join();
    s2.join();
    EXPECT_EQ(failures.load(), 0);

    std::set<std::pair<int, int>> received;
    int total = 0;
    for (auto* r : {&a1, &a2, &b1, &b2}) {
        while (r->has_pending()) {
            auto got = r->receive();
            ASSERT_TRUE(got && got->size() == 3);
            received.insert({(*got)[1], (*got)[2]});
            ++total;
        }
    }
    EXPECT_EQ(total, 2 * kPerSender);
    EXPECT_EQ(received.size(), static_cast<std::size_t>(2 * kPerSender)) << "an event was delivered twice";
    EXPECT_EQ(adapter().stats().topics.at(0).socket_sent, static_cast<std::uint64_t>(2 * kPerSender));
}

TEST_F(XdpAdapterOff, RemovedTopicIsNoLongerDelivered) {
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    UdpReceiver a;
    ASSERT_TRUE(adapter().configure_qos(TopicConfig{5, Qos::best_effort, {SubscriptionGroup{{a.endpoint()}}}}).is_ok());
    ASSERT_TRUE(adapter().remove_topic(5).is_ok());
    EXPECT_FALSE(adapter().send(5, event(5, 0)).is_ok());
    EXPECT_FALSE(a.has_pending());
}

TEST_F(XdpAdapterOff, CallsBeforeConnectAreNotConnected) {
    EXPECT_EQ(adapter().send(1, event(1, 0)).code(), ErrorCode::not_connected);
    EXPECT_EQ(adapter().configure_qos(TopicConfig{1, Qos::strict, {}}).code(), ErrorCode::not_connected);
    EXPECT_EQ(adapter().remove_topic(1).code(), ErrorCode::not_connected);
}

TEST_F(XdpAdapterOff, CloseIsIdempotentAndFinal) {
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    UdpReceiver a;
    ASSERT_TRUE(adapter().configure_qos(TopicConfig{1, Qos::best_effort, {SubscriptionGroup{{a.endpoint()}}}}).is_ok());
    adapter().close();
    adapter().close();
    EXPECT_EQ(adapter().send(1, event(1, 0)).code(), ErrorCode::not_connected);
    EXPECT_EQ(adapter().configure_qos(TopicConfig{1, Qos::best_effort, {}}).code(), ErrorCode::not_connected);
    EXPECT_EQ(adapter().connect(off_channel()).code(), ErrorCode::not_connected);
    EXPECT_TRUE(adapter().stats().topics.empty());
    EXPECT_FALSE(a.has_pending());
}

TEST_F(XdpAdapterOff, SecondConnectIsAnError) {
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    EXPECT_EQ(adapter().connect(off_channel()).code(), ErrorCode::invalid_argument);
}

TEST_F(XdpAdapterOff, UnknownXdpModeIsAnError) {
    ChannelConfig channel;
    channel.interface = "lo";
    channel.options["xdp_mode"] = "turbo";
    EXPECT_TRUE(refused(adapter().connect(channel), ErrorCode::invalid_argument, "turbo"));
}

TEST_F(XdpAdapterOff, UnknownOptionIsAnError) {
    ChannelConfig channel = off_channel();
    channel.options["xdp_mod"] = "native";
    EXPECT_EQ(adapter().connect(channel).code(), ErrorCode::invalid_argument);
}

TEST_F(XdpAdapterOff, MissingInterfaceIsAnErrorUnlessOff) {
    for (const char* mode : {"auto", "native", "generic"}) {
        ChannelConfig channel;
        channel.options["xdp_mode"] = mode;
        EXPECT_TRUE(refused(adapter().connect(channel), ErrorCode::invalid_argument, "interface")) << mode;
    }
    ChannelConfig absent;  // default mode (auto), unknown interface
    absent.interface = "tempos-nope0";
    EXPECT_TRUE(refused(adapter().connect(absent), ErrorCode::not_found, "tempos-nope0"));
}

// The checks tempos-mom --check calls: no connect, no system lookup; they refuse what connect/configure_qos refuse.
TEST_F(XdpAdapterOff, ChecksRefuseWhatConnectAndConfigureRefuseWithoutTouchingTheSystem) {
    ChannelConfig typo = off_channel();
    typo.options["xdp_mod"] = "native";
    const Status unknown_option = adapter().check_channel(typo);
    EXPECT_TRUE(refused(unknown_option, ErrorCode::invalid_argument, "xdp_mod"));
    EXPECT_EQ(adapter().connect(typo).code(), unknown_option.code());

    ChannelConfig no_interface;
    no_interface.options["xdp_mode"] = "native";
    EXPECT_EQ(adapter().check_channel(no_interface).code(), ErrorCode::invalid_argument);
    EXPECT_TRUE(adapter().check_channel(off_channel()).is_ok());
    ChannelConfig absent;  // an interface is looked up by connect() only
    absent.interface = "tempos-nope0";
    EXPECT_TRUE(adapter().check_channel(absent).is_ok());

    auto topic_with_groups = [](std::size_t groups) {
        TopicConfig topic{9, Qos::strict, {}};
        for (std::size_t g = 0; g < groups; ++g)
            topic.groups.push_back({{Endpoint{{10, 0, 0, static_cast<std::uint8_t>(g + 1)}, 7000, {}}}});
        return topic;
    };
    EXPECT_TRUE(adapter().check_topic(topic_with_groups(TEMPOS_MAX_FANOUT_GROUPS)).is_ok());
    const Status too_many = adapter().check_topic(topic_with_groups(TEMPOS_MAX_FANOUT_GROUPS + 1));
    EXPECT_TRUE(refused(too_many, ErrorCode::invalid_argument, "at most 16"));

    EXPECT_EQ(adapter().send(9, event(9, 0)).code(), ErrorCode::not_connected) << "checks do not connect";
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    EXPECT_EQ(adapter().configure_qos(topic_with_groups(TEMPOS_MAX_FANOUT_GROUPS + 1)).code(), too_many.code());
}

// What a kernel path can route of IPv6 (docs/ipv6.md): a strict group of one family, IPv4 or IPv6, and a strict
// topic with several groups (the fan-out) of one family too. A listener without IPv4 is served
// (the router's destination check passes IPv4 frames up when no IPv4 address is listened on). xdp_mode off
// serves every mix.
TEST_F(XdpAdapterOff, StrictIpv6TopicsTheKernelPathCannotRouteNeedXdpModeOff) {
    Ipv6 doc{0x20, 0x01, 0x0d, 0xb8};
    doc[15] = 5;
    const Endpoint v4{{10, 0, 0, 2}, 7000, {}};
    const Endpoint v6{{}, 7000, {}, doc};
    const TopicConfig mixed{4, Qos::strict, {SubscriptionGroup{{v4, v6}}}};
    const TopicConfig best_effort{5, Qos::best_effort, mixed.groups};
    const TopicConfig ipv6_only{6, Qos::strict, {SubscriptionGroup{{v6}}}};
    const TopicConfig two_groups{7, Qos::strict, {SubscriptionGroup{{v4}}, SubscriptionGroup{{v6}}}};
    const TopicConfig two_ipv4_groups{8, Qos::strict, {SubscriptionGroup{{v4}}, SubscriptionGroup{{v4}}}};
    const TopicConfig two_ipv6_groups{9, Qos::strict, {SubscriptionGroup{{v6}}, SubscriptionGroup{{v6}}}};
    for (const char* mode : {"auto", "native", "generic"}) {
        ChannelConfig channel;
        channel.interface = "eth0";
        channel.options["xdp_mode"] = mode;
        ASSERT_TRUE(adapter().check_channel(channel).is_ok()) << mode;
        EXPECT_TRUE(refused(adapter().check_topic(mixed), ErrorCode::invalid_argument,
                            "topic 4, group 0: strict with IPv4 and IPv6 members in one group"))
            << mode;
        EXPECT_TRUE(refused(adapter().check_topic(two_groups), ErrorCode::invalid_argument,
                            "topic 7: strict with several subscription groups of IPv4 and IPv6 members"))
            << mode;
        EXPECT_TRUE(adapter().check_topic(two_ipv6_groups).is_ok()) << mode << ": fanned out in the kernel";
        EXPECT_TRUE(adapter().check_topic(ipv6_only).is_ok()) << mode << ": routed in the kernel";
        EXPECT_TRUE(adapter().check_topic(two_ipv4_groups).is_ok()) << mode;
        EXPECT_TRUE(adapter().check_topic(best_effort).is_ok()) << mode << ": best-effort goes through sockets";
        channel.mom_address6 = Ipv6{};
        channel.receives_ipv4 = false;
        EXPECT_TRUE(adapter().check_channel(channel).is_ok()) << mode << ": v6only with a kernel path";
    }
    ChannelConfig v6only = off_channel();
    v6only.mom_address6 = Ipv6{};
    v6only.receives_ipv4 = false;
    ASSERT_TRUE(adapter().check_channel(v6only).is_ok());
    EXPECT_TRUE(adapter().check_topic(mixed).is_ok());
    EXPECT_TRUE(adapter().check_topic(two_groups).is_ok());
    ASSERT_TRUE(adapter().connect(v6only).is_ok());
    EXPECT_TRUE(adapter().configure_qos(mixed).is_ok());
    EXPECT_TRUE(adapter().configure_qos(two_groups).is_ok());
    EXPECT_TRUE(adapter().configure_qos(best_effort).is_ok());
}

TEST_F(XdpAdapterOff, OversizedGroupIsAnError) {
    ASSERT_TRUE(adapter().connect(off_channel()).is_ok());
    TopicConfig topic{8, Qos::strict, {SubscriptionGroup{}}};
    for (int i = 0; i <= TEMPOS_MAX_SUBSCRIBERS; ++i)
        topic.groups[0].members.push_back(Endpoint{{10, 0, 0, static_cast<std::uint8_t>(i + 1)}, 7000, {}});
    EXPECT_EQ(adapter().configure_qos(topic).code(), ErrorCode::invalid_argument);
    EXPECT_FALSE(adapter().send(8, event(8, 0)).is_ok()) << "a rejected topic is not configured";
}

}  // namespace
}  // namespace tempos::test

namespace tempos::test {
namespace {

// 1000 x (load, create, connect off, configure, send, close, unload) in one process, with the plugin and the
// host built with AddressSanitizer: LeakSanitizer fails the run on any leak; the helper also compares fds.
TEST(XdpAdapterPlugin, LoadUnloadLoopLeaksNothingUnderLeakSanitizer) {
    const std::string command = std::string("ASAN_OPTIONS=detect_leaks=1 ") + TEMPOS_LOAD_LOOP_ASAN_PATH + " 1000 off";
    EXPECT_EQ(std::system(command.c_str()), 0);
}

// The production libxdp_adapter.so itself under valgrind (slower: 200 rounds).
TEST(XdpAdapterPlugin, LoadUnloadLoopLeaksNothingUnderValgrind) {
    const std::string command = std::string("valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect "
                                            "--error-exitcode=1 --suppressions=") +
                                TEMPOS_VALGRIND_SUPPRESSIONS + " " + TEMPOS_LOAD_LOOP_PATH + " 200 off";
    EXPECT_EQ(std::system(command.c_str()), 0);
}

}  // namespace
}  // namespace tempos::test
