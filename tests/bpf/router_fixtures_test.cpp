// The router's packet fixtures (testing/frames/router_fixtures.hpp), one loop over the table: each row runs
// against a freshly loaded program with the standard routes; its action and output frame are compared byte for
// byte, and exactly the row's counter must have moved.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <set>
#include <string>
#include <vector>

#include "frames/router_fixtures.hpp"
#include "privileged.hpp"
#include "router_harness.hpp"
#include "topology/interface.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::testkit {
// gtest prints parameters in test names and failures; the name is what identifies a row.
void PrintTo(const RouterFixture& f, std::ostream* os) { *os << f.name; }
}  // namespace tempos::testkit

namespace tempos::test {
namespace {

using Row = testkit::RouterFixture;

// Named as before the table moved to the test kit: the ctest names stay Fixtures/RouterFixture.Case/<row>.
class RouterFixture : public ::testing::TestWithParam<Row> {};

TEST_P(RouterFixture, Case) {
    TEMPOS_REQUIRE_PRIVILEGED();
    const Row& f = GetParam();
    SCOPED_TRACE(f.description);
    ASSERT_EQ(testkit::enter_test_netns().message(), "");
    ASSERT_EQ(testkit::pin_to_cpu().message(), "");

    Result<LoadedRouter> router = load_router(f.mom);
    ASSERT_TRUE(router) << router.message();
    const Result<std::uint32_t> veth = testkit::ifindex_of(testkit::world::test_netns::kVethA);
    ASSERT_TRUE(veth) << veth.message();
    const Status routes = testkit::install_standard_routes(router->maps(), *veth, f.mom);
    ASSERT_TRUE(routes) << routes.message();

    const Result<XdpRun> run = run_xdp(router->prog_fd(), f.input);
    ASSERT_TRUE(run) << run.message();
    EXPECT_EQ(action_name(run->action), action_name(f.expected_action));
    EXPECT_EQ(hex_dump(run->output), hex_dump(f.expected_output));

    // Exactly one counter moved, in the expected slot.
    for (std::uint32_t slot = 0; slot <= TEMPOS_NO_TOPIC_SLOT; ++slot) {
        const Result<tempos_topic_counters> got = router->routes.read_counters(slot);
        ASSERT_TRUE(got) << got.message();
        const tempos_topic_counters want = slot == f.counter_slot ? f.counter : tempos_topic_counters{};
        EXPECT_EQ(counters_text(*got), counters_text(want)) << "slot " << slot;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RouterFixture, ::testing::ValuesIn(testkit::router_fixtures()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

TEST(RouterFixtureTable, HasAtLeastThirtyUniqueCases) {
    const auto rows = testkit::router_fixtures();
    EXPECT_GE(rows.size(), 30u);
    std::set<std::string> names;
    for (const auto& row : rows) EXPECT_TRUE(names.insert(row.name).second) << row.name;
}

TEST(RouterFixtureTable, ChecksumZeroCaseReallyComputesZero) {
    // Guards the fixture itself: the expected frame must carry 0xffff, i.e. the full computation gave 0.
    const Bytes out = testkit::checksum_zero_pair().second.build();
    EXPECT_EQ(out[14 + 20 + 6], 0xff);
    EXPECT_EQ(out[14 + 20 + 7], 0xff);
    const Bytes out6 = testkit::checksum_zero_pair6().second.build();
    EXPECT_EQ(out6[14 + 40 + 6], 0xff);
    EXPECT_EQ(out6[14 + 40 + 7], 0xff);
}

TEST(RouterFixtureTable, BestEffortChecksumCasesReallyAreWhatTheySay) {
    // Guards the IPv6 best-effort rows' frames: one computes to 0 (sent as 0xffff), one's complete checksum equals
    // its partial field (so the router cannot tell it from a partial datagram).
    constexpr std::size_t kCheckAt = 14 + 40 + 6;
    const Bytes zero = testkit::event6_with_checksum(testkit::world::kTopicBestEffort, 0).build();
    EXPECT_EQ(zero[kCheckAt], 0xff);
    EXPECT_EQ(zero[kCheckAt + 1], 0xff);
    const testkit::PacketBuilder equal = testkit::checksum_equal_to_partial6();
    const Bytes complete = equal.build(), partial = testkit::PacketBuilder(equal).udp_checksum_partial().build();
    EXPECT_EQ(complete, partial);
    EXPECT_TRUE(complete[kCheckAt] != 0 || complete[kCheckAt + 1] != 0);
}

}  // namespace
}  // namespace tempos::test
