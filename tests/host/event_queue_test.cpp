// The bounded queue between the receiver and a dispatcher.
#include <thread>

#include <gtest/gtest.h>

#include "event_queue.hpp"

namespace tempos::mom {
namespace {

using namespace std::chrono_literals;

Event event(std::uint8_t topic) { return Event{topic, {topic, 0xAA}}; }

TEST(EventQueue, DeliversInOrder) {
    EventQueue queue(8);
    for (std::uint8_t t = 1; t <= 3; ++t) ASSERT_TRUE(queue.try_push(event(t)));
    EXPECT_EQ(queue.depth(), 3u);
    for (std::uint8_t t = 1; t <= 3; ++t) {
        auto e = queue.pop_for(0ms);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->topic, t);
        EXPECT_EQ(e->payload, (std::vector<std::uint8_t>{t, 0xAA}));
    }
    EXPECT_FALSE(queue.pop_for(0ms));
}

TEST(EventQueue, AFullQueueRefusesInsteadOfBlocking) {
    EventQueue queue(2);
    EXPECT_TRUE(queue.try_push(event(1)));
    EXPECT_TRUE(queue.try_push(event(2)));
    EXPECT_FALSE(queue.try_push(event(3)));
    EXPECT_EQ(queue.depth(), 2u);
    EXPECT_EQ(queue.pop_for(0ms)->topic, 1);
    EXPECT_TRUE(queue.try_push(event(4)));
}

// 4096 datagrams of 64 KiB would hold 256 MiB: the queue also stops at its byte capacity, and frees what it pops.
TEST(EventQueue, AQueueFullInBytesRefusesUntilAnEventLeaves) {
    EventQueue queue(100, 3 * 65535);
    const Event large{1, std::vector<std::uint8_t>(65535, 0x55)};
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(queue.try_push(Event(large)));
    EXPECT_EQ(queue.bytes(), 3u * 65535);
    EXPECT_FALSE(queue.try_push(Event(large)));
    EXPECT_FALSE(queue.try_push(event(2))) << "the byte bound is exact, even for a small event";
    EXPECT_EQ(queue.depth(), 3u);
    ASSERT_TRUE(queue.pop_for(0ms));
    EXPECT_EQ(queue.bytes(), 2u * 65535);
    EXPECT_TRUE(queue.try_push(event(3)));
    EXPECT_EQ(queue.take_all().size(), 3u);
    EXPECT_EQ(queue.bytes(), 0u);
}

TEST(EventQueue, ByteCapacityHoldsAtLeastOneLargestDatagram) {
    EventQueue queue(4, 1);
    EXPECT_EQ(queue.capacity_bytes(), 65535u);
    EXPECT_TRUE(queue.try_push(Event{1, std::vector<std::uint8_t>(65535, 0)}));
    queue.set_capacity_bytes(1 << 20);
    EXPECT_EQ(queue.capacity_bytes(), 1u << 20);
    EXPECT_TRUE(queue.try_push(event(2)));
}

TEST(EventQueue, CloseWakesAWaiterAndRefusesLaterPushes) {
    EventQueue queue(2);
    std::optional<Event> got = event(9);
    std::thread waiter([&] { got = queue.pop_for(std::chrono::hours(1)); });
    queue.close();
    waiter.join();  // would hang for an hour if close() did not wake it
    EXPECT_FALSE(got);
    EXPECT_FALSE(queue.try_push(event(1)));
}

TEST(EventQueue, AWaiterReceivesAnEventPushedLater) {
    EventQueue queue(2);
    std::optional<Event> got;
    std::thread waiter([&] { got = queue.pop_for(std::chrono::seconds(30)); });
    ASSERT_TRUE(queue.try_push(event(7)));
    waiter.join();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->topic, 7);
}

}  // namespace
}  // namespace tempos::mom
