// Fan-out topics -> one struct tempos_route per group, and the group limit enforced at configuration time.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>

#include "route_translation.hpp"

namespace tempos::xdp {
namespace {

const Mac kMac{0x02, 0xaa, 0, 0, 0, 0x01};
const Mac kEgressMac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

TopicConfig topic_with_groups(std::size_t groups, Qos qos = Qos::strict) {
    TopicConfig topic{9, qos, {}};
    for (std::size_t g = 0; g < groups; ++g) {
        const std::uint8_t id = static_cast<std::uint8_t>(g);
        topic.groups.push_back(SubscriptionGroup{{Endpoint{{10, 0, id, 1}, static_cast<std::uint16_t>(7000 + g), kMac},
                                                  Endpoint{{10, 0, id, 2}, 7100, std::nullopt}}});
    }
    return topic;
}

TEST(FanoutTranslation, EveryGroupBecomesOneRouteInOrder) {
    int calls = 0;
    const EgressResolver egress = [&calls](const Endpoint&) -> Result<EgressPort> {
        ++calls;
        return EgressPort{4, kEgressMac};
    };
    auto routes = translate_fanout(topic_with_groups(3), egress);
    ASSERT_TRUE(routes.is_ok());
    const auto& r = routes.value();
    ASSERT_EQ(r.size(), 3u);
    for (std::uint8_t g = 0; g < 3; ++g) {
        SCOPED_TRACE("group " + std::to_string(g));
        EXPECT_EQ(r[g].count, 2u);
        const std::uint8_t ip[4] = {10, 0, g, 1};
        EXPECT_EQ(std::memcmp(&r[g].subs[0].ipv4, ip, 4), 0);
        EXPECT_EQ(r[g].subs[0].port, htons(static_cast<std::uint16_t>(7000 + g)));
        EXPECT_EQ(r[g].subs[0].flags, TEMPOS_EP_HAS_MAC);
        EXPECT_EQ(r[g].subs[0].ifindex, 4u);
        EXPECT_EQ(std::memcmp(r[g].subs[0].src_mac, kEgressMac.data(), 6), 0);
        EXPECT_EQ(r[g].subs[1].flags, 0u);  // no MAC: bpf_fib_lookup in the kernel
    }
    EXPECT_EQ(calls, 3);  // only the members with a MAC need their egress
}

TEST(FanoutTranslation, AResolverErrorNamesTheTopicAndGroup) {
    const EgressResolver egress = [](const Endpoint&) -> Result<EgressPort> {
        return Status::error(ErrorCode::invalid_argument, "no route");
    };
    auto routes = translate_fanout(topic_with_groups(2), egress);
    ASSERT_FALSE(routes.is_ok());
    EXPECT_EQ(routes.message(), "topic 9, group 0: no route");
}

TEST(FanoutTranslation, SixteenGroupsAreTheLimit) {
    static_assert(TEMPOS_MAX_FANOUT_GROUPS == 16);
    const EgressResolver egress = [](const Endpoint&) -> Result<EgressPort> {
        return EgressPort{1, kEgressMac};
    };
    EXPECT_TRUE(validate_topic(topic_with_groups(16)));
    EXPECT_TRUE(translate_fanout(topic_with_groups(16), egress).is_ok());

    const Status refused = validate_topic(topic_with_groups(17));
    EXPECT_EQ(refused.code(), ErrorCode::invalid_argument);
    EXPECT_EQ(refused.message(),
              "topic 9: strict with 17 subscription groups, at most 16 supported (the kernel fan-out's limit, "
              "docs/fanout.md)");
    auto routes = translate_fanout(topic_with_groups(17), egress);
    ASSERT_FALSE(routes.is_ok());
    EXPECT_EQ(routes.code(), ErrorCode::invalid_argument);
    // Best-effort topics never reach the kernel: the socket path has no group limit.
    EXPECT_TRUE(validate_topic(topic_with_groups(17, Qos::best_effort)));
}

}  // namespace
}  // namespace tempos::xdp
