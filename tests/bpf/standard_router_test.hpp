// A test fixture: a freshly loaded router with the standard routes and limits (testing/frames/router_fixtures.hpp),
// in the test namespace, pinned to the current CPU. Used by the stateful router tests.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "frames/router_fixtures.hpp"
#include "privileged.hpp"
#include "router_harness.hpp"
#include "topology/interface.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::test {

class StandardRouterTest : public ::testing::Test {
protected:
    void SetUp() override {
        TEMPOS_REQUIRE_PRIVILEGED();
        ASSERT_EQ(testkit::enter_test_netns().message(), "");
        ASSERT_EQ(testkit::pin_to_cpu().message(), "");
        Result<LoadedRouter> loaded = load_router();
        ASSERT_TRUE(loaded) << loaded.message();
        router_.emplace(std::move(*loaded));
        const Result<std::uint32_t> veth = testkit::ifindex_of(testkit::world::test_netns::kVethA);
        ASSERT_TRUE(veth) << veth.message();
        const Status routes = testkit::install_standard_routes(router_->maps(), *veth);
        ASSERT_TRUE(routes) << routes.message();
    }

    // One slot's counters summed over CPUs.
    tempos_topic_counters counters(std::uint32_t slot) {
        const Result<tempos_topic_counters> c = router_->routes.read_counters(slot);
        EXPECT_TRUE(c) << c.message();
        return c ? *c : tempos_topic_counters{};
    }

    std::optional<LoadedRouter> router_;
};

}  // namespace tempos::test
