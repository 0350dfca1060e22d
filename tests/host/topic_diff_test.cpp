// What a reload changes: only the differing topics.
#include <gtest/gtest.h>

#include "topic_diff.hpp"

namespace tempos::mom {
namespace {

TopicConfig topic(std::uint8_t id, Qos qos, std::uint16_t port) {
    return TopicConfig{id, qos, {SubscriptionGroup{{Endpoint{{10, 0, 0, 1}, port, std::nullopt}}}}};
}

TEST(TopicDiff, IdenticalConfigsHaveNoDifference) {
    std::map<std::uint8_t, TopicConfig> topics{{1, topic(1, Qos::strict, 9000)}, {2, topic(2, Qos::best_effort, 9)}};
    EXPECT_TRUE(diff_topics(topics, topics).empty());
}

TEST(TopicDiff, FindsAddedChangedAndRemovedOnly) {
    std::map<std::uint8_t, TopicConfig> running{
        {1, topic(1, Qos::strict, 9000)}, {2, topic(2, Qos::strict, 9000)}, {3, topic(3, Qos::strict, 9000)}};
    std::map<std::uint8_t, TopicConfig> wanted{
        {1, topic(1, Qos::strict, 9000)}, {2, topic(2, Qos::best_effort, 9000)}, {4, topic(4, Qos::strict, 9)}};
    const TopicDiff diff = diff_topics(running, wanted);
    ASSERT_EQ(diff.added.size(), 1u);
    EXPECT_EQ(diff.added[0].id, 4);
    ASSERT_EQ(diff.changed.size(), 1u);
    EXPECT_EQ(diff.changed[0], wanted.at(2));
    EXPECT_EQ(diff.removed, std::vector<std::uint8_t>{3});
}

TEST(TopicDiff, AChangedMemberOrMacIsAChange) {
    std::map<std::uint8_t, TopicConfig> running{{5, topic(5, Qos::strict, 9000)}};
    auto wanted = running;
    wanted[5].groups[0].members[0].mac = Mac{0, 1, 2, 3, 4, 5};
    EXPECT_EQ(diff_topics(running, wanted).changed.size(), 1u);
    wanted = running;
    wanted[5].groups.push_back(SubscriptionGroup{{Endpoint{{10, 0, 0, 2}, 1, std::nullopt}}});
    EXPECT_EQ(diff_topics(running, wanted).changed.size(), 1u);
}

}  // namespace
}  // namespace tempos::mom
