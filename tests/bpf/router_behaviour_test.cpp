// Stateful behaviour of the XDP topic router: round robin, exact counters over a sequence, route updates and
// removal through RouteTable, and the FIB path (IPv4 and IPv6) with and without a neighbour entry.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <optional>
#include <string>

#include "destination_table.hpp"
#include "frames/frame_world.hpp"
#include "frames/router_fixtures.hpp"
#include "privileged.hpp"
#include "router_harness.hpp"
#include "topology/command.hpp"
#include "standard_router_test.hpp"
#include "topology/interface.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::test {
namespace {

using namespace testkit::world;
using testkit::endpoint;
using testkit::world::test_netns::kVethA;

class RouterBehaviour : public StandardRouterTest {
protected:
    void expect_routed(const PacketBuilder& in, const PacketBuilder& out, int action = XDP_TX) {
        const Result<XdpRun> run = run_xdp(router_->prog_fd(), in.build());
        ASSERT_TRUE(run) << run.message();
        EXPECT_EQ(action_name(run->action), action_name(action));
        EXPECT_EQ(hex_dump(run->output), hex_dump(out.build()));
    }

    void expect_passed(const PacketBuilder& in, std::uint32_t ingress_ifindex = 0) {
        const Bytes frame = in.build();
        const Result<XdpRun> run = run_xdp(router_->prog_fd(), frame, ingress_ifindex);
        ASSERT_TRUE(run) << run.message();
        EXPECT_EQ(action_name(run->action), action_name(XDP_PASS));
        EXPECT_EQ(hex_dump(run->output), hex_dump(frame));
    }

};

TEST_F(RouterBehaviour, RoundRobinOverThreeSubscribersAcrossNinePackets) {
    const Subscriber order[] = {kSubA, kSubB, kSubC};
    for (int i = 0; i < 9; ++i) {
        SCOPED_TRACE("packet " + std::to_string(i));
        PacketBuilder in = event(kTopicThree);
        in.ip_id(static_cast<std::uint16_t>(100 + i));
        expect_routed(in, forwarded(in, order[i % 3]));
    }
    EXPECT_EQ(counters(kTopicThree).redirected_packets, 9u);
}

TEST_F(RouterBehaviour, CountersMoveExactlyAsExpected) {
    const Bytes strict = event(kTopicSingle).build();
    const Bytes three = event(kTopicThree).build();
    // A known sequence: 3 strict on topic 1, 2 on topic 2, 1 TTL-expired on topic 1, 2 best-effort,
    // 1 to another port, 1 fragment, 1 ARP, 1 bad route.
    for (int i = 0; i < 3; ++i) ASSERT_EQ(run_xdp(router_->prog_fd(), strict)->action, XDP_TX);
    for (int i = 0; i < 2; ++i) ASSERT_EQ(run_xdp(router_->prog_fd(), three)->action, XDP_TX);
    PacketBuilder ttl1 = event(kTopicSingle);
    ttl1.ttl(1);
    ASSERT_EQ(run_xdp(router_->prog_fd(), ttl1.build())->action, XDP_PASS);
    for (int i = 0; i < 2; ++i) ASSERT_EQ(run_xdp(router_->prog_fd(), event(kTopicBestEffort).build())->action, XDP_PASS);
    ASSERT_EQ(run_xdp(router_->prog_fd(), event(kTopicSingle, 9999).build())->action, XDP_PASS);
    PacketBuilder frag = event(kTopicSingle);
    frag.frag_off(0x2000);
    ASSERT_EQ(run_xdp(router_->prog_fd(), frag.build())->action, XDP_PASS);
    ASSERT_EQ(run_xdp(router_->prog_fd(),
                      PacketBuilder().eth(kMomMac, kPublisherMac).raw_l3(PacketBuilder::kEthArp, Bytes(28, 0)).build())
                  ->action,
              XDP_PASS);
    ASSERT_EQ(run_xdp(router_->prog_fd(), event(kTopicBadRoute).build())->action, XDP_PASS);

    tempos_topic_counters want1{};
    want1.redirected_packets = 3;
    want1.redirected_bytes = 3 * strict.size();
    want1.passed[TEMPOS_PASS_TTL] = 1;
    tempos_topic_counters want2{};
    want2.redirected_packets = 2;
    want2.redirected_bytes = 2 * three.size();
    tempos_topic_counters want5{};
    want5.passed[TEMPOS_PASS_NOT_STRICT] = 2;
    tempos_topic_counters want_none{};
    want_none.passed[TEMPOS_PASS_NOT_OUR_PORT] = 1;
    want_none.passed[TEMPOS_PASS_FRAGMENT] = 1;
    want_none.passed[TEMPOS_PASS_NOT_IPV4] = 1;
    tempos_topic_counters want9{};
    want9.aborted = 1;

    EXPECT_EQ(counters_text(counters(kTopicSingle)), counters_text(want1));
    EXPECT_EQ(counters_text(counters(kTopicThree)), counters_text(want2));
    EXPECT_EQ(counters_text(counters(kTopicBestEffort)), counters_text(want5));
    EXPECT_EQ(counters_text(counters(TEMPOS_NO_TOPIC_SLOT)), counters_text(want_none));
    EXPECT_EQ(counters_text(counters(kTopicBadRoute)), counters_text(want9));
    EXPECT_EQ(counters_text(counters(kTopicUnknown)), counters_text(tempos_topic_counters{}));
}

// The local destinations (bpf/destination.h): each set() replaces the whole list the programs read, written into
// the version they do not read, so every set in a row (both versions, several times) takes exactly its own
// addresses; a full list matches up to its last entry, and a list over the bound is refused with the old one kept.
TEST_F(RouterBehaviour, LocalDestinationsAreReplacedWholeAndFullListsMatchTheirLastEntry) {
    xdp::DestinationTable table(router_->maps().local_destinations);
    auto action_to = [&](const MacAddr& mac, const Ipv4Addr& ip) {
        PacketBuilder in = event(kTopicSingle);
        in.eth(mac, kPublisherMac).ipv4(kPublisherIp, ip);
        const Result<XdpRun> run = run_xdp(router_->prog_fd(), in.build());
        EXPECT_TRUE(run) << run.message();
        return run ? action_name(run->action) : std::string("error");
    };
    const xdp::LocalDestinations other{{kOtherHostMac}, {kNotListenedIp}, {}};
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        ASSERT_TRUE(table.set(other));
        EXPECT_EQ(action_to(kOtherHostMac, kNotListenedIp), action_name(XDP_TX));
        EXPECT_EQ(action_to(kMomMac, kMomIp), action_name(XDP_PASS)) << "the previous list is gone whole";
        ASSERT_TRUE(table.set(testkit::standard_local_destinations()));
        EXPECT_EQ(action_to(kMomMac, kMomIp), action_name(XDP_TX));
        EXPECT_EQ(action_to(kOtherHostMac, kNotListenedIp), action_name(XDP_PASS));
        EXPECT_EQ(action_to(kMomMac, kNotListenedIp), action_name(XDP_PASS)) << "our MAC, another address";
    }

    xdp::LocalDestinations full;
    for (std::uint8_t i = 0; full.macs.size() < TEMPOS_MAX_LOCAL_MACS; ++i) full.macs.insert({0x02, 0x10, 0, 0, 0, i});
    for (std::uint8_t i = 0; full.ipv4.size() < TEMPOS_MAX_LOCAL_IPV4; ++i) full.ipv4.insert({10, 20, 0, i});
    ASSERT_TRUE(table.set(full));
    EXPECT_EQ(action_to(*full.macs.rbegin(), *full.ipv4.rbegin()), action_name(XDP_TX)) << "the last entries";
    EXPECT_EQ(action_to(*full.macs.begin(), *full.ipv4.begin()), action_name(XDP_TX)) << "the first entries";

    xdp::LocalDestinations too_many = full;
    too_many.macs.insert({0x02, 0x11, 0, 0, 0, 0});
    const Status refused = table.set(too_many);
    EXPECT_EQ(refused.code(), ErrorCode::invalid_argument) << refused.message();
    EXPECT_EQ(action_to(*full.macs.rbegin(), *full.ipv4.rbegin()), action_name(XDP_TX)) << "the old list stays";
}

TEST_F(RouterBehaviour, RouteUpdateTakesEffectAndRemoveMakesTopicPass) {
    expect_routed(event(kTopicSingle), forwarded(event(kTopicSingle), kSubA));

    tempos_route replacement{};
    replacement.count = 1;
    replacement.subs[0] = endpoint(kSubB.ip, kSubB.port, kSubB.mac, kMomMac);
    ASSERT_TRUE(router_->routes.set(kTopicSingle, replacement));
    expect_routed(event(kTopicSingle), forwarded(event(kTopicSingle), kSubB));

    ASSERT_TRUE(router_->routes.remove(kTopicSingle));
    expect_passed(event(kTopicSingle));
    EXPECT_EQ(counters(kTopicSingle).passed[TEMPOS_PASS_NOT_STRICT], 1u);
    // Removing an absent topic is not an error.
    EXPECT_TRUE(router_->routes.remove(kTopicSingle));
}

// The atomicity argument of topic_routes in one deterministic check: every set() publishes a fresh inner map
// (a new map id in the slot), and a published inner map is frozen, so nothing can modify it in place.
TEST_F(RouterBehaviour, UpdatePublishesAFreshFrozenInnerMap) {
    auto inner_id = [&] {
        const std::uint32_t key = kTopicSingle;
        std::uint32_t id = 0;
        EXPECT_EQ(bpf_map_lookup_elem(router_->maps().topic_routes, &key, &id), 0) << std::strerror(errno);
        return id;
    };
    const std::uint32_t before = inner_id();
    tempos_route replacement{};
    replacement.count = 1;
    replacement.subs[0] = endpoint(kSubC.ip, kSubC.port, kSubC.mac, kMomMac);
    ASSERT_TRUE(router_->routes.set(kTopicSingle, replacement));
    const std::uint32_t after = inner_id();
    EXPECT_NE(before, 0u);
    EXPECT_NE(after, 0u);
    EXPECT_NE(before, after);

    const int inner = bpf_map_get_fd_by_id(after);
    ASSERT_GE(inner, 0) << std::strerror(errno);
    const std::uint32_t zero = 0;
    tempos_route read_back{};
    EXPECT_EQ(bpf_map_lookup_elem(inner, &zero, &read_back), 0);
    EXPECT_EQ(std::memcmp(&read_back, &replacement, sizeof(replacement)), 0);
    EXPECT_NE(bpf_map_update_elem(inner, &zero, &replacement, BPF_ANY), 0);
    EXPECT_EQ(errno, EPERM);
    close(inner);
}

TEST_F(RouterBehaviour, RouteTableRejectsInvalidRoutes) {
    tempos_route empty{};
    const tempos::Status st = router_->routes.set(kTopicSingle, empty);
    EXPECT_FALSE(st);
    EXPECT_EQ(st.code(), tempos::ErrorCode::invalid_argument);
    tempos_route too_many{};
    too_many.count = TEMPOS_MAX_SUBSCRIBERS + 1;
    EXPECT_EQ(router_->routes.set(kTopicSingle, too_many).code(), tempos::ErrorCode::invalid_argument);
    EXPECT_EQ(router_->routes.read_counters(TEMPOS_NO_TOPIC_SLOT + 1).code(),
              tempos::ErrorCode::invalid_argument);
    // The old route is still in place.
    expect_routed(event(kTopicSingle), forwarded(event(kTopicSingle), kSubA));
}

TEST_F(RouterBehaviour, FibLookupWithoutNeighbourPassesThenRoutesOnceResolved) {
    // A member without MAC on the veth's subnet: a route exists (10.77.0.0/24 dev tmpsx0) but no neighbour.
    // The only difference between the two runs below is the neighbour entry, so the first pass is NO_NEIGH.
    const Result<std::uint32_t> veth_index = testkit::ifindex_of(kVethA);
    ASSERT_TRUE(veth_index) << veth_index.message();
    const std::uint32_t veth = *veth_index;
    const Subscriber neighbour{{10, 77, 0, 2}, 7100, {0x02, 0xcc, 0, 0, 0, 0x02}};
    tempos_route route{};
    route.count = 1;
    route.subs[0] = endpoint(neighbour.ip, neighbour.port, std::nullopt, {});
    ASSERT_TRUE(router_->routes.set(kTopicSingle, route));
    const Status flushed = testkit::flush_neighbours(kVethA);
    ASSERT_TRUE(flushed) << flushed.message();

    expect_passed(event(kTopicSingle), veth);
    EXPECT_EQ(counters(kTopicSingle).passed[TEMPOS_PASS_FIB], 1u);

    // Once the kernel knows the neighbour, the same frame is routed with the interface's and neighbour's MACs.
    const Status learnt = testkit::set_permanent_neighbour(kVethA, "10.77.0.2", "02:cc:00:00:00:02");
    ASSERT_TRUE(learnt) << learnt.message();
    const auto veth_mac = testkit::mac_of(kVethA);
    ASSERT_TRUE(veth_mac) << veth_mac.message();
    const Bytes in = event(kTopicSingle).build();
    const Result<XdpRun> run_ok = run_xdp(router_->prog_fd(), in, veth);
    ASSERT_TRUE(run_ok) << run_ok.message();
    EXPECT_EQ(action_name(run_ok->action), action_name(XDP_TX));
    EXPECT_EQ(hex_dump(run_ok->output), hex_dump(forwarded(event(kTopicSingle), neighbour, kMomIp, *veth_mac).build()));
    EXPECT_EQ(counters(kTopicSingle).redirected_packets, 1u);
}

// The same for an IPv6 member (docs/ipv6.md): bpf_fib_lookup with AF_INET6 needs IPv6 forwarding on the ingress
// interface; NO_NEIGH passes the event to the socket path, and once the NDP neighbour is known it is routed.
TEST_F(RouterBehaviour, Ipv6FibLookupWithoutNeighbourPassesThenRoutesOnceResolved) {
    const std::string veth = kVethA;
    const Result<std::uint32_t> veth_index = testkit::ifindex_of(kVethA);
    ASSERT_TRUE(veth_index) << veth_index.message();
    ASSERT_EQ(testkit::set_sysctl("net.ipv6.conf." + veth + ".disable_ipv6", "0").message(), "");
    ASSERT_EQ(testkit::set_sysctl("net.ipv6.conf." + veth + ".forwarding", "1").message(), "");
    ASSERT_EQ(testkit::run_command({"ip", "-6", "addr", "add", "2001:db8:77::1/64", "dev", veth, "nodad"}).message(), "");
    const Subscriber6 neighbour{{0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}, 7100,
                                {0x02, 0xcc, 0, 0, 0, 0x62}};
    tempos_route route{};
    route.count = 1;
    route.subs[0] = endpoint(neighbour.ip, neighbour.port, std::nullopt, {});
    ASSERT_TRUE(router_->routes.set(kTopicSingle6, route));
    ASSERT_TRUE(testkit::flush_neighbours(kVethA));

    expect_passed(event6(kTopicSingle6), *veth_index);
    EXPECT_EQ(counters(kTopicSingle6).passed[TEMPOS_PASS_FIB], 1u);

    ASSERT_TRUE(testkit::set_permanent_neighbour(kVethA, "2001:db8:77::2", "02:cc:00:00:00:62"));
    const auto veth_mac = testkit::mac_of(kVethA);
    ASSERT_TRUE(veth_mac) << veth_mac.message();
    const Result<XdpRun> run = run_xdp(router_->prog_fd(), event6(kTopicSingle6).build(), *veth_index);
    ASSERT_TRUE(run) << run.message();
    EXPECT_EQ(action_name(run->action), action_name(XDP_TX));
    EXPECT_EQ(hex_dump(run->output), hex_dump(forwarded(event6(kTopicSingle6), neighbour, kMomIp6, *veth_mac).build()));
    EXPECT_EQ(counters(kTopicSingle6).redirected_packets, 1u);
    EXPECT_TRUE(testkit::flush_neighbours(kVethA));
    EXPECT_EQ(testkit::set_sysctl("net.ipv6.conf." + veth + ".disable_ipv6", "1").message(), "");
}

}  // namespace
}  // namespace tempos::test
