// The receiver alone (no dispatcher drains the queues): classification by first byte and drop accounting.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "ingress.hpp"
#include "plugins/recording_test_support.hpp"

namespace tempos::mom {
namespace {

using tempos::test::send_udp;
using tempos::test::wait_until;

class IngressTest : public ::testing::Test {
protected:
    LogContext log{spdlog::level::warn};
    TopicTable topics;
    EventQueue sq{2};
    EventQueue bq{2};
    MomCounters counters;
    Ingress ingress{topics, sq, bq, counters, log};

    void SetUp() override {
        topics.set(1, Qos::strict);
        topics.set(2, Qos::best_effort);
        const Status bound = ingress.bind({{127, 0, 0, 1}, 0});
        ASSERT_TRUE(bound.is_ok()) << bound.message();
        ingress.start();
    }
    std::uint64_t handled() const {
        std::uint64_t n = counters.unknown_topic + counters.empty_datagrams;
        for (const auto& paths : counters.topics)
            for (const auto& p : paths) n += p.received;
        return n;
    }
};

TEST_F(IngressTest, QueuesByTopicQosAndKeepsThePayloadWhole) {
    const std::uint16_t port = ingress.local_address().port;
    ASSERT_TRUE(send_udp(port, {1, 0x10, 0x11}));
    ASSERT_TRUE(send_udp(port, {2, 0x20}));
    ASSERT_TRUE(wait_until([&] { return handled() == 2; }));
    auto strict = sq.pop_for(std::chrono::milliseconds(0));
    ASSERT_TRUE(strict);
    EXPECT_EQ(strict->topic, 1);
    EXPECT_EQ(strict->payload, (std::vector<std::uint8_t>{1, 0x10, 0x11}));
    auto best_effort = bq.pop_for(std::chrono::milliseconds(0));
    ASSERT_TRUE(best_effort);
    EXPECT_EQ(best_effort->topic, 2);
    EXPECT_EQ(counters.at(1, Path::sq).queued, 1u);
    EXPECT_EQ(counters.at(2, Path::bq).queued, 1u);
}

TEST_F(IngressTest, AFullQueueCountsDropsAndDoesNotStopTheReceiver) {
    const std::uint16_t port = ingress.local_address().port;
    for (std::uint8_t i = 0; i < 5; ++i) ASSERT_TRUE(send_udp(port, {1, i}));
    ASSERT_TRUE(wait_until([&] { return counters.at(1, Path::sq).received == 5; }));
    EXPECT_EQ(counters.at(1, Path::sq).queued, 2u);
    EXPECT_EQ(counters.at(1, Path::sq).dropped, 3u);
    EXPECT_EQ(sq.depth(), 2u);
    // The other queue still takes events: the receiver never blocked.
    ASSERT_TRUE(send_udp(port, {2, 0}));
    ASSERT_TRUE(wait_until([&] { return counters.at(2, Path::bq).queued == 1; }));
}

TEST_F(IngressTest, UnknownTopicsAndEmptyDatagramsAreCountedNotQueued) {
    const std::uint16_t port = ingress.local_address().port;
    ASSERT_TRUE(send_udp(port, {}));
    ASSERT_TRUE(send_udp(port, {200, 1}));
    topics.erase(2);
    ASSERT_TRUE(send_udp(port, {2, 1}));
    ASSERT_TRUE(wait_until([&] { return handled() == 3; }));
    EXPECT_EQ(counters.empty_datagrams, 1u);
    EXPECT_EQ(counters.unknown_topic, 2u);
    EXPECT_EQ(sq.depth() + bq.depth(), 0u);
}

// Root (CI) may exceed net.core.rmem_max with SO_RCVBUFFORCE: exactly what was asked. Others get at most rmem_max.
TEST_F(IngressTest, TheReceiveBufferIsWhatWasAskedForOrTheKernelCap) {
    Ingress other{topics, sq, bq, counters, log};
    const std::int64_t wanted = 8 << 20;
    ASSERT_TRUE(other.bind({{127, 0, 0, 1}, 0}, wanted).is_ok());
    if (::geteuid() == 0) {
        EXPECT_EQ(other.receive_buffer(), wanted);
    } else {
        std::ifstream rmem_max("/proc/sys/net/core/rmem_max");
        std::int64_t cap = 0;
        ASSERT_TRUE(rmem_max >> cap);
        EXPECT_EQ(other.receive_buffer(), std::min(wanted, cap));
    }
}

TEST_F(IngressTest, BindingATakenPortFailsNamingTheAddress) {
    Ingress second{topics, sq, bq, counters, log};
    const Status error = second.bind(ingress.local_address());
    ASSERT_FALSE(error.is_ok());
    EXPECT_NE(error.message().find("127.0.0.1:" + std::to_string(ingress.local_address().port)), std::string::npos)
        << error.message();
}

}  // namespace
}  // namespace tempos::mom
