// RouteTable::prepare + publish (bpf/route_table.hpp, bpf/map_ops.hpp): many routes swapped into topic_routes with
// one batched update. The kernel's own topic_routes is read back slot by slot and held against what set() writes.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "map_ops.hpp"
#include "privileged.hpp"
#include "router_harness.hpp"

namespace tempos::test {
namespace {

// A route of `members` members, all different from any other route's (the port says which).
tempos_route route_of(std::uint16_t port, std::uint32_t members) {
    tempos_route route{};
    route.count = members;
    for (std::uint32_t m = 0; m < members; ++m) {
        route.subs[m].ipv4 = htonl(0x0a000000u | (port << 4) | m);
        route.subs[m].port = htons(static_cast<std::uint16_t>(port + m));
    }
    return route;
}

// Slot `topic` of topic_routes as the kernel holds it; nullopt when empty.
std::optional<tempos_route> slot_of(int topic_routes, std::uint32_t topic) {
    std::uint32_t inner_id = 0;
    if (bpf_map_lookup_elem(topic_routes, &topic, &inner_id) != 0) return std::nullopt;
    const int inner = bpf_map_get_fd_by_id(inner_id);
    if (inner < 0) return std::nullopt;
    tempos_route route{};
    const std::uint32_t zero = 0;
    const int rc = bpf_map_lookup_elem(inner, &zero, &route);
    ::close(inner);
    if (rc != 0) return std::nullopt;
    return route;
}

bool same(const std::optional<tempos_route>& a, const tempos_route& b) {
    return a && std::memcmp(&*a, &b, sizeof b) == 0;
}

class RoutePublish : public ::testing::Test {
protected:
    void SetUp() override {
        TEMPOS_REQUIRE_PRIVILEGED();
        Result<LoadedRouter> loaded = load_router();
        ASSERT_TRUE(loaded) << loaded.message();
        router_.emplace(std::move(*loaded));
    }
    int topic_routes() const { return router_->maps().topic_routes; }

    std::optional<LoadedRouter> router_;
};

// Every slot a batch publishes reads back byte for byte as set() of the same route leaves it, slots outside the
// batch untouched.
TEST_F(RoutePublish, ABatchLeavesEverySlotAsSetWould) {
    ASSERT_TRUE(router_->routes.set(200, route_of(2000, 3)));
    std::vector<std::uint32_t> topics;
    std::vector<UniqueFd> maps;
    std::vector<int> fds;
    for (std::uint32_t topic = 0; topic < 200; ++topic) {
        Result<UniqueFd> inner =
            router_->routes.prepare(static_cast<std::uint8_t>(topic), route_of(static_cast<std::uint16_t>(1000 + topic), 1 + topic % TEMPOS_MAX_SUBSCRIBERS));
        ASSERT_TRUE(inner) << inner.message();
        topics.push_back(topic);
        fds.push_back(inner->get());
        maps.push_back(std::move(*inner));
    }
    std::uint32_t published = 0;
    const Status status = router_->routes.publish(topics, fds, published);
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(published, 200u);
    maps.clear();  // the slots hold the maps now
    for (std::uint32_t topic = 0; topic < 200; ++topic)
        EXPECT_TRUE(same(slot_of(topic_routes(), topic),
                         route_of(static_cast<std::uint16_t>(1000 + topic), 1 + topic % TEMPOS_MAX_SUBSCRIBERS)))
            << "topic " << topic;
    EXPECT_TRUE(same(slot_of(topic_routes(), 200), route_of(2000, 3)));
    EXPECT_FALSE(slot_of(topic_routes(), 201));
    // The same routes through set(): the same bytes.
    for (std::uint32_t topic = 0; topic < 200; topic += 37) {
        const tempos_route route = route_of(static_cast<std::uint16_t>(1000 + topic), 1 + topic % TEMPOS_MAX_SUBSCRIBERS);
        ASSERT_TRUE(router_->routes.set(static_cast<std::uint8_t>(topic), route));
        EXPECT_TRUE(same(slot_of(topic_routes(), topic), route));
    }
}

// A map the kernel refuses in the middle of a batch (the wrong shape for topic_routes): the routes before it are
// in force, the refused topic is named and its slot keeps its old route, the ones after it are not published.
TEST_F(RoutePublish, ARefusedSlotStopsTheBatchThereAndIsNamed) {
    ASSERT_TRUE(router_->routes.set(12, route_of(1200, 2)));
    ASSERT_TRUE(router_->routes.set(13, route_of(1300, 2)));
    Result<UniqueFd> first = router_->routes.prepare(11, route_of(1110, 1));
    Result<UniqueFd> last = router_->routes.prepare(13, route_of(1310, 4));
    ASSERT_TRUE(first && last);
    UniqueFd wrong(bpf_map_create(BPF_MAP_TYPE_ARRAY, "wrong", 4, 4, 1, nullptr));
    ASSERT_GE(wrong.get(), 0);
    const std::vector<std::uint32_t> topics{11, 12, 13};
    const std::vector<int> fds{first->get(), wrong.get(), last->get()};
    std::uint32_t published = 99;
    const Status status = router_->routes.publish(topics, fds, published);
    ASSERT_FALSE(status);
    EXPECT_EQ(published, 1u);
    EXPECT_NE(status.message().find("topic 12"), std::string::npos) << status.message();
    EXPECT_TRUE(same(slot_of(topic_routes(), 11), route_of(1110, 1)));
    EXPECT_TRUE(same(slot_of(topic_routes(), 12), route_of(1200, 2)));
    EXPECT_TRUE(same(slot_of(topic_routes(), 13), route_of(1300, 2)));
    // What the adapter does next (XdpAdapter::apply_staged): the rest of the batch after the refused one.
    const Status rest = router_->routes.publish(std::span(topics).subspan(2), std::span(fds).subspan(2), published);
    ASSERT_TRUE(rest) << rest.message();
    EXPECT_EQ(published, 1u);
    EXPECT_TRUE(same(slot_of(topic_routes(), 13), route_of(1310, 4)));
}

// clear_slots (bpf/map_ops.hpp, each delete on a thread of its own): every slot named is emptied, an empty one is no
// error, the others keep their routes, and a slot of a map that is not there fails alone, named.
TEST_F(RoutePublish, ClearSlotsEmptiesEverySlotNamedAndOnlyThose) {
    for (std::uint32_t topic = 0; topic < 200; ++topic)
        ASSERT_TRUE(router_->routes.set(static_cast<std::uint8_t>(topic),
                                        route_of(static_cast<std::uint16_t>(1000 + topic), 1)));
    std::vector<xdp::SlotToClear> slots;
    for (std::uint32_t topic = 0; topic < 150; ++topic)
        slots.push_back(router_->routes.slot(static_cast<std::uint8_t>(topic)));
    slots.push_back(router_->routes.slot(250));  // never set
    slots.push_back(xdp::SlotToClear{-1, 3, "a slot of no map"});
    std::vector<Status> results(slots.size());
    xdp::clear_slots(slots, results);
    for (std::size_t i = 0; i + 1 < slots.size(); ++i) EXPECT_TRUE(results[i]) << i << ": " << results[i].message();
    ASSERT_FALSE(results.back());
    const std::string& why = results.back().message();
    EXPECT_NE(why.find("removing a slot of no map"), std::string::npos) << why;
    for (std::uint32_t topic = 0; topic < 150; ++topic)
        EXPECT_FALSE(slot_of(topic_routes(), topic)) << "topic " << topic;
    for (std::uint32_t topic = 150; topic < 200; ++topic)
        EXPECT_TRUE(same(slot_of(topic_routes(), topic), route_of(static_cast<std::uint16_t>(1000 + topic), 1)))
            << "topic " << topic;
}

// prepare() refuses what set() refuses, before anything reaches the kernel's slot.
TEST_F(RoutePublish, PrepareRefusesWhatSetRefuses) {
    const Result<UniqueFd> empty = router_->routes.prepare(5, tempos_route{});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.status().message(), router_->routes.set(5, tempos_route{}).message());
    EXPECT_FALSE(slot_of(topic_routes(), 5));
}

}  // namespace
}  // namespace tempos::test
