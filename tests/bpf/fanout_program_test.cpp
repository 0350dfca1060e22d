// The TC fan-out program through BPF_PROG_TEST_RUN. The skb enters as if received on the test veth (tmpsx0);
// the program's clones really leave through it and are captured on the peer (tmpsx1), so every copy is checked
// byte for byte against a frame built from scratch (both checksums computed in full by PacketBuilder).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/pkt_cls.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fanout_harness.hpp"
#include "frames/fanout_frames.hpp"
#include "frames/frame_world.hpp"
#include "frames/router_fixtures.hpp"
#include "privileged.hpp"
#include "tcx.hpp"
#include "topology/command.hpp"
#include "topology/interface.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::test {
namespace {

namespace world = testkit::world;
using testkit::Ipv6Addr;
using testkit::world::test_netns::kVethA;
using testkit::world::test_netns::kVethB;

constexpr std::uint8_t kTopic = 3;
constexpr std::uint8_t kOtherTopic = 4;
constexpr std::uint8_t kTopic6 = 5;  // a second fan-out topic, of IPv6 members

struct Member {
    Ipv4Addr ip;
    std::uint16_t port;
    MacAddr mac;
};

Member member(std::uint8_t group, std::uint8_t index) {
    return {{10, 0, group, static_cast<std::uint8_t>(10 + index)},
            static_cast<std::uint16_t>(5000 + 100 * group + index),
            {0x02, 0xaa, 0, 0, group, index}};
}

tempos_endpoint endpoint_of(const Member& m) { return testkit::endpoint(m.ip, m.port, m.mac, world::kMomMac); }

// IPv6 (docs/ipv6.md): the same members with documentation-prefix addresses.
struct Member6 {
    Ipv6Addr ip;
    std::uint16_t port;
    MacAddr mac;
};

Member6 member6(std::uint8_t group, std::uint8_t index) {
    Ipv6Addr ip{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, group};
    ip[15] = static_cast<std::uint8_t>(10 + index);
    return {ip, static_cast<std::uint16_t>(6000 + 100 * group + index), {0x02, 0xab, 0, 0, group, index}};
}

tempos_endpoint endpoint_of(const Member6& m) { return testkit::endpoint(m.ip, m.port, m.mac, world::kMomMac); }

// sizes[g] members in group g, member(g, i) each (ipv6: member6(g, i)).
std::vector<tempos_route> groups_of(const std::vector<std::uint32_t>& sizes, bool ipv6 = false) {
    std::vector<tempos_route> groups;
    for (std::size_t g = 0; g < sizes.size(); ++g) {
        tempos_route route{};
        route.count = sizes[g];
        for (std::uint32_t i = 0; i < sizes[g]; ++i) {
            const auto group = static_cast<std::uint8_t>(g), index = static_cast<std::uint8_t>(i);
            route.subs[i] = ipv6 ? endpoint_of(member6(group, index)) : endpoint_of(member(group, index));
        }
        groups.push_back(route);
    }
    return groups;
}

PacketBuilder event(std::uint8_t topic = kTopic) { return testkit::fanout_event(topic); }

// A member without MAC on the veth's subnet: the program resolves it with bpf_fib_lookup (the tests set its
// neighbour as they need it).
const Member kNeighbour{{10, 77, 0, 9}, 7100, {0x02, 0xcc, 0, 0, 0, 0x09}};

// Two groups: member(0, 0), then kNeighbour without its MAC.
std::vector<tempos_route> with_mac_less_member() {
    std::vector<tempos_route> groups = groups_of({1, 1});
    tempos_endpoint& no_mac = groups[1].subs[0];
    no_mac = tempos_endpoint{};
    std::memcpy(&no_mac.ipv4, kNeighbour.ip.data(), 4);
    no_mac.port = htons(kNeighbour.port);
    return groups;
}

PacketBuilder copy_toward(PacketBuilder in, const Member& m) {
    in.forwarded(m.mac, world::kMomMac, world::kMomIp, m.ip, m.port);
    return in;
}

// `in` as the program sends it toward kNeighbour once the FIB resolves it: from the veth's MAC.
PacketBuilder copy_toward_neighbour(PacketBuilder in, const MacAddr& veth_mac) {
    in.forwarded(kNeighbour.mac, veth_mac, world::kMomIp, kNeighbour.ip, kNeighbour.port);
    return in;
}

PacketBuilder event6(std::uint8_t topic = kTopic) { return testkit::fanout_event6(topic); }

PacketBuilder copy_toward(PacketBuilder in, const Member6& m, const Ipv6Addr& source = world::kMomIp6,
                          const MacAddr& src_mac = world::kMomMac) {
    in.forwarded(m.mac, src_mac, source, m.ip, m.port);
    return in;
}

class FanoutProgram : public ::testing::Test {
protected:
    void SetUp() override {
        TEMPOS_REQUIRE_PRIVILEGED();
        ASSERT_EQ(testkit::enter_test_netns().message(), "");
        // Quiet links: no IPv6 chatter among the captured frames.
        ASSERT_EQ(testkit::set_sysctl("net.ipv6.conf.all.disable_ipv6", "1").message(), "");
        ASSERT_EQ(testkit::pin_to_cpu().message(), "");
        const Result<std::uint32_t> veth = testkit::ifindex_of(kVethA);
        ASSERT_TRUE(veth) << veth.message();
        veth_ = *veth;
        Result<LoadedFanout> loaded = load_fanout();
        ASSERT_TRUE(loaded) << loaded.message();
        fanout_.emplace(std::move(*loaded));
        Result<FrameCapture> capture = FrameCapture::open(kVethB, kVethA);
        ASSERT_TRUE(capture) << capture.message();
        capture_.emplace(std::move(*capture));
    }

    Result<TcRun> run_on_veth(const PacketBuilder& in) { return run_tc(fanout_->prog_fd(), in.build(), veth_); }

    // Runs `in` and expects one copy toward each of `want`, in group order: the clones for all groups but the
    // last are captured on the peer; the last group's copy is the original itself, rewritten and redirected
    // (BPF_PROG_TEST_RUN reports the verdict and the bytes but does not perform the redirect).
    void expect_fanned_out(const PacketBuilder& in, const std::vector<PacketBuilder>& want) {
        const Result<TcRun> run = run_on_veth(in);
        ASSERT_TRUE(run) << run.message();
        EXPECT_EQ(tc_action_name(run->action), tc_action_name(TC_ACT_REDIRECT));
        EXPECT_EQ(hex_dump(run->output), hex_dump(want.back().build())) << "last copy";
        const Result<std::vector<Bytes>> sent = capture_->take_until_marker();
        ASSERT_TRUE(sent) << sent.message();
        const std::vector<Bytes>& copies = *sent;
        ASSERT_EQ(copies.size(), want.size() - 1);
        for (std::size_t i = 0; i + 1 < want.size(); ++i)
            EXPECT_EQ(hex_dump(copies[i]), hex_dump(want[i].build())) << "copy " << i;
    }

    // Runs `in` and expects it left untouched for whatever follows on the interface, with no copy sent: TCX_NEXT,
    // so later tcx programs and the legacy tc filters still see it (TC_ACT_OK would end the chain).
    void expect_passed(const PacketBuilder& in) {
        const Bytes frame = in.build();
        SCOPED_TRACE("frame" + hex_dump(frame));
        const Result<TcRun> run = run_tc(fanout_->prog_fd(), frame, veth_);
        ASSERT_TRUE(run) << run.message();
        EXPECT_EQ(tc_action_name(run->action), tc_action_name(xdp::kTcxNext));
        EXPECT_EQ(hex_dump(run->output), hex_dump(frame));
        const Result<std::vector<Bytes>> sent = capture_->take_until_marker();
        ASSERT_TRUE(sent) << sent.message();
        EXPECT_EQ(sent->size(), 0u);
    }

    tempos_fanout_topic_counters topic_counters(std::uint8_t topic = kTopic) {
        const Result<tempos_fanout_topic_counters> c = fanout_->table.read_topic_counters(topic);
        EXPECT_TRUE(c) << c.message();
        return c ? *c : tempos_fanout_topic_counters{};
    }
    tempos_fanout_group_counters group_counters(std::uint32_t group, std::uint8_t topic = kTopic) {
        const Result<tempos_fanout_group_counters> c = fanout_->table.read_group_counters(topic, group);
        EXPECT_TRUE(c) << c.message();
        return c ? *c : tempos_fanout_group_counters{};
    }

    std::uint32_t veth_ = 0;
    std::optional<LoadedFanout> fanout_;
    std::optional<FrameCapture> capture_;
};

TEST_F(FanoutProgram, FourGroupsGetOneRewrittenCopyEachRoundRobinWithinTheGroup) {
    const std::vector<std::uint32_t> sizes{2, 2, 1, 3};
    ASSERT_TRUE(fanout_->table.set(kTopic, groups_of(sizes)));
    for (std::uint8_t n = 0; n < 6; ++n) {
        SCOPED_TRACE("event " + std::to_string(n));
        PacketBuilder in = event();
        in.ip_id(static_cast<std::uint16_t>(500 + n));
        std::vector<PacketBuilder> want;
        for (std::uint8_t g = 0; g < sizes.size(); ++g)
            want.push_back(copy_toward(in, member(g, static_cast<std::uint8_t>(n % sizes[g]))));
        expect_fanned_out(in, want);
    }
    const std::size_t frame_len = event().build().size();
    EXPECT_EQ(topic_counters().events, 6u);
    for (std::uint32_t g = 0; g < sizes.size(); ++g) {
        SCOPED_TRACE("group " + std::to_string(g));
        const tempos_fanout_group_counters c = group_counters(g);
        EXPECT_EQ(c.copies, 6u);
        EXPECT_EQ(c.bytes, 6u * frame_len);
        EXPECT_EQ(c.clone_errors, 0u);
        EXPECT_EQ(c.unresolved, 0u);
    }
    EXPECT_EQ(group_counters(4).copies, 0u);
}

// Frame shapes the parser must accept (testing/frames/fanout_frames.hpp), each checked on the copy toward the last
// group: the program's output (data_out) is the original as rewritten and redirected to it. The clone toward the
// first group is captured as well. The members are on the untagged veth: tagged events leave untagged
// (docs/config.md#vlan).
// IPv6 (docs/ipv6.md): extension headers stay, the UDP header behind them is rewritten at its offset.
TEST_F(FanoutProgram, EveryAcceptedFrameShapeIsRewrittenWithCorrectChecksums) {
    for (const bool ipv6 : {false, true}) {
        ASSERT_TRUE(fanout_->table.set(kTopic, groups_of({1, 1}, ipv6)));
        for (const testkit::FanoutShape& c : ipv6 ? testkit::fanout_accepted_shapes6() : testkit::fanout_accepted_shapes()) {
            SCOPED_TRACE(c.name);
            PacketBuilder in = ipv6 ? event6() : event();
            c.shape(in, kTopic);
            PacketBuilder first = ipv6 ? copy_toward(in, member6(0, 0)) : copy_toward(in, member(0, 0));
            PacketBuilder last = ipv6 ? copy_toward(in, member6(1, 0)) : copy_toward(in, member(1, 0));
            expect_fanned_out(in, {first.untagged(), last.untagged()});
        }
    }
}

// All-ones address and port: the checksum updates must carry (a single fold would leave one).
TEST_F(FanoutProgram, ChecksumCarriesWithAllOnesMember) {
    const Member ones{{255, 255, 255, 255}, 0xffff, {0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}};
    std::vector<tempos_route> groups = groups_of({1, 1});
    groups[1].subs[0] = endpoint_of(ones);
    ASSERT_TRUE(fanout_->table.set(kTopic, groups));
    for (std::uint16_t id : {0x0000, 0xffff, 0x1234}) {
        SCOPED_TRACE("ip id " + std::to_string(id));
        PacketBuilder in = event();
        in.ip_id(id);
        expect_fanned_out(in, {copy_toward(in, member(0, 0)), copy_toward(in, ones)});
    }
}

TEST_F(FanoutProgram, EverythingElseGoesToTheStackUntouched) {
    // Each family on a topic of its own members (IPv6: the router's IPv6 pass rules, docs/ipv6.md).
    for (const bool ipv6 : {false, true}) {
        SCOPED_TRACE(ipv6 ? "IPv6" : "IPv4");
        const std::uint8_t topic = ipv6 ? kTopic6 : kTopic;
        ASSERT_TRUE(fanout_->table.set(topic, groups_of({1, 1}, ipv6)));
        for (std::uint8_t ttl : {1, 0}) {
            PacketBuilder expired = ipv6 ? event6(topic) : event(topic);
            expired.ttl(ttl);
            expect_passed(expired);
        }
        EXPECT_EQ(topic_counters(topic).passed_ttl, 2u);

        // Not a fan-out topic, then the frames of testing/frames/fanout_frames.hpp that are not events for this MoM.
        expect_passed(ipv6 ? event6(kOtherTopic) : event(kOtherTopic));
        for (const auto& [name, in] : ipv6 ? testkit::fanout_passed_frames6(topic) : testkit::fanout_passed_frames(topic)) {
            SCOPED_TRACE(name);
            expect_passed(in);
        }
        EXPECT_EQ(topic_counters(topic).events, 0u);
        EXPECT_EQ(topic_counters(topic).aborted + topic_counters(topic).passed_family, 0u);
        EXPECT_EQ(group_counters(0, topic).copies + group_counters(1, topic).copies, 0u);
    }
    EXPECT_EQ(topic_counters(kOtherTopic).events, 0u);
}

// A member without MAC is resolved with bpf_fib_lookup. Until every group resolves, the whole event goes to the
// stack untouched (the socket path then serves each group once and resolves the neighbour).
TEST_F(FanoutProgram, UnresolvedGroupSendsTheWholeEventToTheStackUntilResolved) {
    ASSERT_TRUE(fanout_->table.set(kTopic, with_mac_less_member()));
    const Status flushed = testkit::flush_neighbours(kVethA);
    ASSERT_TRUE(flushed) << flushed.message();

    expect_passed(event());
    EXPECT_EQ(topic_counters().passed_unresolved, 1u);
    EXPECT_EQ(group_counters(1).unresolved, 1u);
    EXPECT_EQ(group_counters(0).copies, 0u);

    const Status learnt = testkit::set_permanent_neighbour(kVethA, "10.77.0.9", "02:cc:00:00:00:09");
    ASSERT_TRUE(learnt) << learnt.message();
    const auto veth_mac = testkit::mac_of(kVethA);
    ASSERT_TRUE(veth_mac) << veth_mac.message();
    PacketBuilder in = event();
    expect_fanned_out(in, {copy_toward(in, member(0, 0)), copy_toward_neighbour(in, *veth_mac)});
    EXPECT_EQ(topic_counters().events, 1u);
    EXPECT_TRUE(testkit::flush_neighbours(kVethA));
}

// A member without MAC whose route's MTU is below the datagram: the FIB answers FRAG_NEEDED (before it looks at
// the neighbour, which is resolved here). The whole event goes to the stack, whose socket path sends it fragmented,
// counted as too_big (not as unresolved); a datagram that fits is fanned out.
TEST_F(FanoutProgram, DatagramOverTheRouteMtuGoesToTheStackCountedAsTooBig) {
    ASSERT_TRUE(fanout_->table.set(kTopic, with_mac_less_member()));
    ASSERT_TRUE(testkit::set_permanent_neighbour(kVethA, "10.77.0.9", "02:cc:00:00:00:09"));
    const auto veth_mac = testkit::mac_of(kVethA);
    ASSERT_TRUE(veth_mac) << veth_mac.message();

    const std::size_t mtu = world::kSecondInterfaceMtu;  // the veth's, the route's MTU
    expect_passed(testkit::fanout_event_of_length(kTopic, mtu + 1));
    EXPECT_EQ(topic_counters().passed_too_big, 1u);
    EXPECT_EQ(topic_counters().passed_unresolved, 0u);
    EXPECT_EQ(group_counters(1).too_big, 1u);
    EXPECT_EQ(group_counters(1).unresolved, 0u);
    EXPECT_EQ(group_counters(0).copies, 0u);

    PacketBuilder fits = testkit::fanout_event_of_length(kTopic, mtu);
    expect_fanned_out(fits, {copy_toward(fits, member(0, 0)), copy_toward_neighbour(fits, *veth_mac)});
    EXPECT_EQ(topic_counters().events, 1u);
    EXPECT_EQ(topic_counters().passed_too_big, 1u);
    EXPECT_TRUE(testkit::flush_neighbours(kVethA));
}

TEST_F(FanoutProgram, SixteenGroupsAreServedAndSeventeenRefused) {
    static_assert(TEMPOS_MAX_FANOUT_GROUPS == 16);
    const std::vector<tempos_route> sixteen = groups_of(std::vector<std::uint32_t>(16, 1));
    ASSERT_TRUE(fanout_->table.set(kTopic, sixteen));
    std::vector<PacketBuilder> want;
    for (std::uint8_t g = 0; g < 16; ++g) want.push_back(copy_toward(event(), member(g, 0)));
    expect_fanned_out(event(), want);

    std::vector<tempos_route> seventeen = sixteen;
    seventeen.push_back(groups_of({1})[0]);
    const tempos::Status refused = fanout_->table.set(kTopic, seventeen);
    EXPECT_EQ(refused.code(), tempos::ErrorCode::invalid_argument);
    EXPECT_NE(refused.message().find("17 groups"), std::string::npos) << refused.message();
    EXPECT_EQ(fanout_->table.set(kTopic, {}).code(), tempos::ErrorCode::invalid_argument);
    std::vector<tempos_route> empty_group = groups_of({1, 1});
    empty_group[1].count = 0;
    EXPECT_EQ(fanout_->table.set(kTopic, empty_group).code(), tempos::ErrorCode::invalid_argument);
    // The sixteen groups are still in place.
    expect_fanned_out(event(), want);
}

// Every set() publishes a fresh frozen inner map (a new map id in the slot, unwritable), so a packet sees the
// old route or the new one, never a mix; the update takes effect on the next packet and remove() makes the
// topic pass.
TEST_F(FanoutProgram, UpdatesSwapAFreshFrozenInnerMapAndRemoveMakesTheTopicPass) {
    auto inner_id = [&] {
        const std::uint32_t key = kTopic;
        std::uint32_t id = 0;
        EXPECT_EQ(bpf_map_lookup_elem(fanout_->routes_fd(), &key, &id), 0) << std::strerror(errno);
        return id;
    };
    ASSERT_TRUE(fanout_->table.set(kTopic, groups_of({1, 1})));
    const std::uint32_t before = inner_id();
    expect_fanned_out(event(), {copy_toward(event(), member(0, 0)), copy_toward(event(), member(1, 0))});

    std::vector<tempos_route> three = groups_of({1, 1, 1});
    ASSERT_TRUE(fanout_->table.set(kTopic, three));
    const std::uint32_t after = inner_id();
    EXPECT_NE(before, 0u);
    EXPECT_NE(after, before);
    expect_fanned_out(event(), {copy_toward(event(), member(0, 0)), copy_toward(event(), member(1, 0)),
                                copy_toward(event(), member(2, 0))});

    const int inner = bpf_map_get_fd_by_id(after);
    ASSERT_GE(inner, 0) << std::strerror(errno);
    std::vector<tempos_fanout_member> want(TEMPOS_FANOUT_SLOTS);
    tempos::xdp::FanoutTable::fill_slots(three, want);
    for (std::uint32_t slot : {0u, 16u, 32u, 48u}) {
        tempos_fanout_member read_back{};
        EXPECT_EQ(bpf_map_lookup_elem(inner, &slot, &read_back), 0);
        EXPECT_EQ(std::memcmp(&read_back, &want[slot], sizeof(read_back)), 0) << "slot " << slot;
    }
    const std::uint32_t zero = 0;
    EXPECT_NE(bpf_map_update_elem(inner, &zero, &want[0], BPF_ANY), 0);
    EXPECT_EQ(errno, EPERM);
    close(inner);

    ASSERT_TRUE(fanout_->table.remove(kTopic));
    expect_passed(event());
    EXPECT_TRUE(fanout_->table.remove(kTopic));  // absent: not an error
}

// A route written bypassing FanoutTable with an impossible group size is not served.
TEST_F(FanoutProgram, InconsistentRouteIsAbortedToTheStack) {
    const int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tempos_fo_bad", sizeof(std::uint32_t),
                                     sizeof(tempos_fanout_member), TEMPOS_FANOUT_SLOTS, nullptr);
    ASSERT_GE(inner, 0) << std::strerror(errno);
    tempos_fanout_member bad{};
    bad.ep = endpoint_of(member(0, 0));
    bad.group_size = TEMPOS_MAX_SUBSCRIBERS + 1;
    const std::uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(inner, &zero, &bad, BPF_ANY), 0);
    const std::uint32_t key = kTopic;
    const std::uint32_t inner_fd = static_cast<std::uint32_t>(inner);
    ASSERT_EQ(bpf_map_update_elem(fanout_->routes_fd(), &key, &inner_fd, BPF_ANY), 0) << std::strerror(errno);
    close(inner);
    expect_passed(event());
    EXPECT_EQ(topic_counters().aborted, 1u);
}

// ---- IPv6 (docs/ipv6.md): the router's parsing rules, the same two passes, the UDP checksum never 0 ----

TEST_F(FanoutProgram, Ipv6GroupsGetOneRewrittenCopyEachRoundRobinWithinTheGroup) {
    const std::vector<std::uint32_t> sizes{2, 1, 3};
    ASSERT_TRUE(fanout_->table.set(kTopic, groups_of(sizes, true)));
    for (std::uint8_t n = 0; n < 6; ++n) {
        SCOPED_TRACE("event " + std::to_string(n));
        PacketBuilder in = event6();
        in.payload({kTopic, 'v', '6', n});
        std::vector<PacketBuilder> want;
        for (std::uint8_t g = 0; g < sizes.size(); ++g)
            want.push_back(copy_toward(in, member6(g, static_cast<std::uint8_t>(n % sizes[g]))));
        expect_fanned_out(in, want);
    }
    EXPECT_EQ(topic_counters().events, 6u);
    for (std::uint32_t g = 0; g < sizes.size(); ++g) {
        SCOPED_TRACE("group " + std::to_string(g));
        EXPECT_EQ(group_counters(g).copies, 6u);
        EXPECT_EQ(group_counters(g).clone_errors, 0u);
    }
}

// The UDP checksum is mandatory in IPv6: a copy whose checksum computes to 0 leaves with 0xffff; all-ones
// addresses and port make every update carry.
TEST_F(FanoutProgram, Ipv6ChecksumIsNeverZeroAndCarries) {
    const world::Subscriber6 last{member6(1, 0).ip, member6(1, 0).port, member6(1, 0).mac};
    ASSERT_TRUE(fanout_->table.set(kTopic, groups_of({1, 1}, true)));
    const auto [in, zero_out] = testkit::checksum_zero_pair6(event6(), last);
    const Bytes out = zero_out.build();
    ASSERT_EQ(out[14 + 40 + 6], 0xff);
    ASSERT_EQ(out[14 + 40 + 7], 0xff);
    expect_fanned_out(in, {copy_toward(in, member6(0, 0)), zero_out});

    const Member6 ones{world::kSubOnes6.ip, world::kSubOnes6.port, world::kSubOnes6.mac};
    std::vector<tempos_route> groups = groups_of({1, 1}, true);
    groups[1].subs[0] = endpoint_of(ones);
    ASSERT_TRUE(fanout_->table.set(kTopic, groups));
    PacketBuilder near_zero = event6();
    near_zero.ipv6(Ipv6Addr{}, world::kMomIp6Alias).tos(0xff);
    expect_fanned_out(near_zero, {copy_toward(near_zero, member6(0, 0)), copy_toward(near_zero, ones)});
}

// The router's rule (docs/ipv6.md): an event is never turned into the other family. The event goes to the socket
// path, which sends it through its members' family, counted as passed_family.
TEST_F(FanoutProgram, EventOfTheOtherFamilyThanTheMembersGoesToTheStack) {
    ASSERT_TRUE(fanout_->table.set(kTopic, groups_of({1, 1}, true)));
    expect_passed(event());
    EXPECT_EQ(topic_counters().passed_family, 1u);
    ASSERT_TRUE(fanout_->table.set(kOtherTopic, groups_of({1, 1})));
    expect_passed(event6(kOtherTopic));
    EXPECT_EQ(topic_counters(kOtherTopic).passed_family, 1u);
    EXPECT_EQ(topic_counters().events + topic_counters(kOtherTopic).events, 0u);
    // One family for a whole topic: FanoutTable refuses a mix (the adapter refuses it at the topic's line).
    std::vector<tempos_route> mixed = groups_of({1, 1}, true);
    mixed[1] = groups_of({1})[0];
    EXPECT_EQ(fanout_->table.set(kTopic, mixed).code(), tempos::ErrorCode::invalid_argument);
}

// mom_ipv6 = ::: each copy's source is the address the event was sent to (a second address of the MoM here).
TEST_F(FanoutProgram, Ipv6MomAddressZeroKeepsTheDestinationAsSource) {
    testkit::MomConstants keep = {};
    keep.ip6 = Ipv6Addr{};
    Result<LoadedFanout> loaded = load_fanout(keep);
    ASSERT_TRUE(loaded) << loaded.message();
    fanout_.emplace(std::move(*loaded));
    ASSERT_TRUE(fanout_->table.set(kTopic, groups_of({1, 1}, true)));
    PacketBuilder in = event6();
    in.ipv6(world::kPublisherIp6, world::kMomIp6Alias);
    expect_fanned_out(in, {copy_toward(in, member6(0, 0), world::kMomIp6Alias),
                           copy_toward(in, member6(1, 0), world::kMomIp6Alias)});
}

// An IPv6 member without a MAC: bpf_fib_lookup with AF_INET6 answers from the NDP neighbour table, with IPv6
// forwarding on the interface (docs/ipv6.md). Until the neighbour is known the whole event goes to the stack.
TEST_F(FanoutProgram, Ipv6MemberWithoutMacIsResolvedThroughTheNeighbourTable) {
    const std::string veth = kVethA;
    ASSERT_EQ(testkit::set_sysctl("net.ipv6.conf." + veth + ".disable_ipv6", "0").message(), "");
    ASSERT_EQ(testkit::set_sysctl("net.ipv6.conf." + veth + ".forwarding", "1").message(), "");
    ASSERT_EQ(testkit::run_command({"ip", "-6", "addr", "add", "2001:db8:77::1/64", "dev", veth, "nodad"}).message(), "");
    const Member6 neighbour{{0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09}, 7300,
                            {0x02, 0xcc, 0, 0, 0, 0x69}};
    std::vector<tempos_route> groups = groups_of({1, 1}, true);
    groups[1].subs[0] = testkit::endpoint(neighbour.ip, neighbour.port, std::nullopt, {});
    ASSERT_TRUE(fanout_->table.set(kTopic, groups));
    ASSERT_TRUE(testkit::flush_neighbours(kVethA));

    expect_passed(event6());
    EXPECT_EQ(topic_counters().passed_unresolved, 1u);
    EXPECT_EQ(group_counters(1).unresolved, 1u);

    ASSERT_TRUE(testkit::set_permanent_neighbour(kVethA, "2001:db8:77::9", "02:cc:00:00:00:69"));
    const auto veth_mac = testkit::mac_of(kVethA);
    ASSERT_TRUE(veth_mac) << veth_mac.message();
    PacketBuilder in = event6();
    expect_fanned_out(in, {copy_toward(in, member6(0, 0)), copy_toward(in, neighbour, world::kMomIp6, *veth_mac)});
    EXPECT_EQ(topic_counters().events, 1u);
    EXPECT_TRUE(testkit::flush_neighbours(kVethA));
    EXPECT_EQ(testkit::set_sysctl("net.ipv6.conf." + veth + ".disable_ipv6", "1").message(), "");
}

// Least privilege (issue #4): CAP_BPF + CAP_NET_ADMIN, without CAP_PERFMON and CAP_SYS_ADMIN, must be enough to
// load the program (the verifier's Spectre v1 rules apply then). Checked in a child that drops the two.
TEST(FanoutPrivileges, LoadsWithCapBpfAndCapNetAdminOnly) {
    TEMPOS_REQUIRE_PRIVILEGED();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2]{};
        auto grant = [&](int cap) { data[cap / 32].effective |= 1u << (cap % 32); data[cap / 32].permitted |= 1u << (cap % 32); };
        grant(CAP_BPF);
        grant(CAP_NET_ADMIN);
        if (syscall(SYS_capset, &header, data) != 0) _exit(3);
        // The drop really happened: CAP_PERFMON and CAP_SYS_ADMIN are no longer effective.
        __user_cap_data_struct now[2]{};
        if (syscall(SYS_capget, &header, now) != 0 || (now[CAP_PERFMON / 32].effective & (1u << (CAP_PERFMON % 32))) ||
            (now[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))))
            _exit(4);
        if (Result<LoadedFanout> loaded = load_fanout(); !loaded) {
            std::fprintf(stderr, "%s\n", loaded.message().c_str());
            _exit(1);
        }
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the verifier refused the program without CAP_PERFMON; 3/4: dropping capabilities failed";
}

}  // namespace
}  // namespace tempos::test
