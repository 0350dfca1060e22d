// TopicConfig -> struct tempos_route: the exact bytes the kernel program reads.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>

#include "route_translation.hpp"

namespace tempos::xdp {
namespace {

const Mac kSubscriberMac{0x40, 0xa6, 0xb7, 0x66, 0x38, 0xfb};
const Mac kEgressMac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

EgressResolver fixed_egress(int ifindex, int* calls = nullptr) {
    return [ifindex, calls](const Endpoint&) -> Result<EgressPort> {
        if (calls != nullptr) ++*calls;
        return EgressPort{ifindex, kEgressMac};
    };
}

std::array<std::uint8_t, 4> bytes_of(__be32 value) {
    std::array<std::uint8_t, 4> out;
    std::memcpy(out.data(), &value, out.size());
    return out;
}

std::array<std::uint8_t, 2> bytes_of(__be16 value) {
    std::array<std::uint8_t, 2> out;
    std::memcpy(out.data(), &value, out.size());
    return out;
}

TEST(RouteTranslation, AddressAndPortAreInNetworkOrder) {
    SubscriptionGroup group{{Endpoint{{10, 0, 0, 211}, 0x2328, std::nullopt}}};  // port 9000
    auto route = translate_group(group, fixed_egress(7));
    ASSERT_TRUE(route.is_ok());
    const auto& r = route.value();
    EXPECT_EQ(r.count, 1u);
    EXPECT_EQ(bytes_of(r.subs[0].ipv4), (std::array<std::uint8_t, 4>{10, 0, 0, 211}));
    EXPECT_EQ(bytes_of(r.subs[0].port), (std::array<std::uint8_t, 2>{0x23, 0x28}));
}

TEST(RouteTranslation, Ipv6MemberCarriesItsAddressAndTheFlag) {
    Ipv6 doc{0x20, 0x01, 0x0d, 0xb8};
    doc[15] = 5;
    SubscriptionGroup group{{Endpoint{{}, 9000, kSubscriberMac, doc}, Endpoint{{}, 9001, std::nullopt, doc}}};
    auto route = translate_group(group, fixed_egress(7));
    ASSERT_TRUE(route.is_ok());
    const auto& r = route.value();
    EXPECT_EQ(r.subs[0].flags, TEMPOS_EP_IPV6 | TEMPOS_EP_HAS_MAC);
    EXPECT_EQ(r.subs[1].flags, TEMPOS_EP_IPV6) << "without a MAC: bpf_fib_lookup (NDP) resolves it";
    EXPECT_EQ(r.subs[0].ipv4, 0u);
    EXPECT_EQ(std::memcmp(r.subs[0].ipv6, doc.data(), doc.size()), 0);
    EXPECT_EQ(std::memcmp(r.subs[1].ipv6, doc.data(), doc.size()), 0);
    EXPECT_EQ(r.subs[0].ifindex, 7u);
}

TEST(RouteTranslation, WithoutMacTheKernelResolvesAndTheResolverIsNotAsked) {
    int calls = 0;
    SubscriptionGroup group{{Endpoint{{10, 0, 0, 2}, 7000, std::nullopt}}};
    auto route = translate_group(group, fixed_egress(7, &calls));
    ASSERT_TRUE(route.is_ok());
    const auto& sub = route.value().subs[0];
    EXPECT_EQ(sub.flags & TEMPOS_EP_HAS_MAC, 0);
    EXPECT_EQ(sub.ifindex, 0u);
    EXPECT_EQ(Mac{} , (Mac{sub.mac[0], sub.mac[1], sub.mac[2], sub.mac[3], sub.mac[4], sub.mac[5]}));
    EXPECT_EQ(calls, 0);
}

TEST(RouteTranslation, WithMacCarriesBothMacsAndTheEgressInterface) {
    int calls = 0;
    SubscriptionGroup group{{Endpoint{{10, 0, 0, 2}, 7000, kSubscriberMac}}};
    auto route = translate_group(group, fixed_egress(42, &calls));
    ASSERT_TRUE(route.is_ok());
    const auto& sub = route.value().subs[0];
    EXPECT_EQ(sub.flags, TEMPOS_EP_HAS_MAC);
    EXPECT_EQ(0, std::memcmp(sub.mac, kSubscriberMac.data(), 6));
    EXPECT_EQ(0, std::memcmp(sub.src_mac, kEgressMac.data(), 6));
    EXPECT_EQ(sub.ifindex, 42u);
    EXPECT_EQ(calls, 1);
}

// A MAC-less member whose neighbour the adapter resolved is written like a configured one; one it did not resolve
// is left to bpf_fib_lookup. The lookup is never asked about a member with a configured MAC.
TEST(RouteTranslation, ResolvedNeighbourIsWrittenAsTheMemberMacAndUnresolvedIsLeftToTheKernel) {
    const Mac resolved{0x02, 0x77, 0, 0, 0, 0x03};
    std::vector<Ipv4> asked;
    const NeighbourLookup neighbour = [&](const Endpoint& e) -> std::optional<Mac> {
        asked.push_back(e.ip);
        if (e.ip == Ipv4{10, 0, 0, 3}) return resolved;
        return std::nullopt;
    };
    SubscriptionGroup group{{Endpoint{{10, 0, 0, 2}, 7000, kSubscriberMac}, Endpoint{{10, 0, 0, 3}, 7000, std::nullopt},
                             Endpoint{{10, 0, 0, 4}, 7000, std::nullopt}}};
    int calls = 0;
    auto route = translate_group(group, fixed_egress(9, &calls), neighbour);
    ASSERT_TRUE(route.is_ok()) << route.message();
    EXPECT_EQ(asked, (std::vector<Ipv4>{{10, 0, 0, 3}, {10, 0, 0, 4}}));
    const auto& configured = route.value().subs[0];
    EXPECT_EQ(0, std::memcmp(configured.mac, kSubscriberMac.data(), 6));
    const auto& learnt = route.value().subs[1];
    EXPECT_EQ(learnt.flags, TEMPOS_EP_HAS_MAC);
    EXPECT_EQ(0, std::memcmp(learnt.mac, resolved.data(), 6));
    EXPECT_EQ(0, std::memcmp(learnt.src_mac, kEgressMac.data(), 6));
    EXPECT_EQ(learnt.ifindex, 9u);
    const auto& unresolved = route.value().subs[2];
    EXPECT_EQ(unresolved.flags & TEMPOS_EP_HAS_MAC, 0);
    EXPECT_EQ(unresolved.ifindex, 0u);
    EXPECT_EQ(calls, 2) << "the egress is asked for the two members with a MAC";
}

TEST(RouteTranslation, HasMaclessMemberLooksAtEveryGroup) {
    TopicConfig topic{3, Qos::strict, {SubscriptionGroup{{Endpoint{{10, 0, 0, 2}, 7000, kSubscriberMac}}}}};
    EXPECT_FALSE(has_macless_member(topic));
    topic.groups.push_back(SubscriptionGroup{{Endpoint{{10, 0, 0, 3}, 7000, std::nullopt}}});
    EXPECT_TRUE(has_macless_member(topic));
}

TEST(RouteTranslation, MembersKeepTheirOrderAndUnusedSlotsStayZero) {
    SubscriptionGroup group;
    for (std::uint8_t i = 1; i <= 5; ++i)
        group.members.push_back(Endpoint{{10, 0, 0, i}, static_cast<std::uint16_t>(1000 + i),
                                         i % 2 ? std::optional<Mac>(Mac{2, 0, 0, 0, 0, i}) : std::nullopt});
    auto route = translate_group(group, fixed_egress(3));
    ASSERT_TRUE(route.is_ok());
    const auto& r = route.value();
    ASSERT_EQ(r.count, 5u);
    for (std::uint8_t i = 1; i <= 5; ++i) {
        const auto& sub = r.subs[i - 1];
        EXPECT_EQ(bytes_of(sub.ipv4)[3], i);
        EXPECT_EQ(ntohs(sub.port), 1000 + i);
        EXPECT_EQ(sub.flags, i % 2 ? TEMPOS_EP_HAS_MAC : 0);
        EXPECT_EQ(sub.mac[5], i % 2 ? i : 0);
    }
    const tempos_endpoint zero{};
    for (int i = 5; i < TEMPOS_MAX_SUBSCRIBERS; ++i) EXPECT_EQ(0, std::memcmp(&r.subs[i], &zero, sizeof(zero))) << i;
}

TEST(RouteTranslation, ResolverErrorIsReturned) {
    SubscriptionGroup group{{Endpoint{{10, 9, 9, 9}, 7000, kSubscriberMac}}};
    auto route = translate_group(group, [](const Endpoint&) -> Result<EgressPort> {
        return Status::error(ErrorCode::invalid_argument, "no route to subscriber 10.9.9.9");
    });
    ASSERT_FALSE(route.is_ok());
    EXPECT_EQ(route.code(), ErrorCode::invalid_argument);
    EXPECT_NE(route.message().find("10.9.9.9"), std::string::npos);
}

TEST(RouteTranslation, GroupSizeIsBounded) {
    SubscriptionGroup empty;
    EXPECT_FALSE(translate_group(empty, fixed_egress(1)).is_ok());
    SubscriptionGroup full;
    for (int i = 0; i < TEMPOS_MAX_SUBSCRIBERS; ++i)
        full.members.push_back(Endpoint{{10, 0, 0, static_cast<std::uint8_t>(i + 1)}, 7000, std::nullopt});
    EXPECT_TRUE(translate_group(full, fixed_egress(1)).is_ok());
    full.members.push_back(Endpoint{{10, 0, 1, 1}, 7000, std::nullopt});
    EXPECT_FALSE(translate_group(full, fixed_egress(1)).is_ok());
}

TEST(ValidateTopic, AcceptsAWellFormedTopic) {
    TopicConfig topic{3, Qos::strict, {SubscriptionGroup{{Endpoint{{10, 0, 0, 2}, 7000, std::nullopt}}}}};
    EXPECT_TRUE(validate_topic(topic).is_ok());
}

TEST(ValidateTopic, RejectsEmptyGroupsOversizedGroupsZeroAddressAndZeroPort) {
    TopicConfig empty_group{3, Qos::strict, {SubscriptionGroup{}}};
    EXPECT_EQ(validate_topic(empty_group).code(), ErrorCode::invalid_argument);

    TopicConfig oversized{4, Qos::best_effort, {SubscriptionGroup{}}};
    for (int i = 0; i <= TEMPOS_MAX_SUBSCRIBERS; ++i)
        oversized.groups[0].members.push_back(Endpoint{{10, 0, 0, static_cast<std::uint8_t>(i + 1)}, 7000, {}});
    const Status too_many = validate_topic(oversized);
    EXPECT_EQ(too_many.code(), ErrorCode::invalid_argument);
    EXPECT_NE(too_many.message().find("topic 4"), std::string::npos) << too_many.message();

    TopicConfig zero_ip{5, Qos::strict, {SubscriptionGroup{{Endpoint{{0, 0, 0, 0}, 7000, {}}}}}};
    EXPECT_EQ(validate_topic(zero_ip).code(), ErrorCode::invalid_argument);
    TopicConfig zero_port{6, Qos::strict, {SubscriptionGroup{{Endpoint{{10, 0, 0, 1}, 0, {}}}}}};
    EXPECT_EQ(validate_topic(zero_port).code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace tempos::xdp
