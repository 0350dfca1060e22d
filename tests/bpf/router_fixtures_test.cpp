// Table-driven fixtures for the XDP topic router (Katran's shape): description, expected action, input frame,
// expected output frame, compared byte for byte; plus the one counter the frame must have moved.
// Every case runs against a freshly loaded program with the standard routes of router_world.hpp.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "packet_builder.hpp"
#include "privileged.hpp"
#include "router_harness.hpp"
#include "router_world.hpp"
#include "topology/private_netns.hpp"

namespace tempos::test {
namespace {

using namespace world;

enum class Outcome { redirected, passed, aborted };

struct RouterCase {
    std::string name;
    std::string description;
    int expected_action;
    Bytes input;
    Bytes expected_output;
    Outcome outcome;
    std::uint32_t slot;              // counters slot that must move
    int pass_reason = -1;            // for Outcome::passed
    RouterSettings settings{};
};

// gtest prints parameters in test names and failures; the name is what identifies a case.
void PrintTo(const RouterCase& c, std::ostream* os) { *os << c.name; }

RouterCase pass_case(std::string name, std::string description, Bytes input, std::uint32_t slot, int reason,
                     RouterSettings settings = {}) {
    Bytes expected = input;  // untouched, byte for byte
    return {std::move(name), std::move(description), XDP_PASS, std::move(input), std::move(expected),
            Outcome::passed, slot, reason, settings};
}

RouterCase routed_case(std::string name, std::string description, int action, const PacketBuilder& in,
                       const PacketBuilder& out, std::uint32_t topic, RouterSettings settings = {}) {
    return {std::move(name), std::move(description), action, in.build(), out.build(), Outcome::redirected, topic,
            -1, settings};
}

PacketBuilder tweaked(std::uint8_t topic, const std::function<void(PacketBuilder&)>& tweak) {
    PacketBuilder b = event(topic);
    tweak(b);
    return b;
}

// The UDP checksum of the forwarded frame is made to compute to 0: payload bytes 2..3 are set to the checksum
// obtained with them at zero, which cancels the sum. RFC 768 then requires 0xffff on the wire.
std::pair<PacketBuilder, PacketBuilder> checksum_zero_pair() {
    Bytes payload{kTopicSingle, 0x55, 0, 0, 'z', 'e', 'r', 'o'};
    PacketBuilder probe = event(kTopicSingle);
    probe.payload(payload);
    Bytes probe_out = forwarded(probe, kSubA).build();
    const std::size_t udp_check_at = 14 + 20 + 6;
    payload[2] = probe_out[udp_check_at];
    payload[3] = probe_out[udp_check_at + 1];
    PacketBuilder in = event(kTopicSingle);
    in.payload(payload);
    return {in, forwarded(in, kSubA)};
}

std::vector<RouterCase> make_cases() {
    const std::uint32_t none = TEMPOS_NO_TOPIC_SLOT;
    const RouterSettings port7777{7777, kMomIp};
    const RouterSettings keep_destination{9998, {0, 0, 0, 0}};
    const Bytes l3_24{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 7, 10, 0, 0, 1, 0x9c, 0x40, 0x27, 0x0e};
    std::vector<RouterCase> cases;

    // Strict events that are routed.
    cases.push_back(routed_case("StrictRedirect", "valid strict event on port 9998: XDP_TX, both checksums updated",
                                XDP_TX, event(kTopicSingle), forwarded(event(kTopicSingle), kSubA), kTopicSingle));
    cases.push_back(routed_case("StrictOnConfiguredPort7777", "mom_port is load-time config: 7777 routes",
                                XDP_TX, event(kTopicSingle, 7777), forwarded(event(kTopicSingle, 7777), kSubA),
                                kTopicSingle, port7777));
    {
        const Ipv4Addr other_mom_ip{10, 0, 0, 2};
        auto in = tweaked(kTopicSingle, [&](PacketBuilder& b) { b.ipv4(kPublisherIp, other_mom_ip); });
        cases.push_back(routed_case("MomIpZeroKeepsDestinationAsSource",
                                    "mom_ipv4 = 0: the new source is the frame's original destination", XDP_TX, in,
                                    forwarded(in, kSubA, other_mom_ip), kTopicSingle, keep_destination));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) { b.ip_options({0x01, 0x01, 0x01, 0x00}); });
        cases.push_back(routed_case("IpOptionsSkipped", "ihl 6 (NOP options): routed, options kept", XDP_TX, in,
                                    forwarded(in, kSubA), kTopicSingle));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) { b.ip_options(Bytes(40, 0x01)); });
        cases.push_back(routed_case("IpOptionsMaximal", "ihl 15 (40 option bytes): routed", XDP_TX, in,
                                    forwarded(in, kSubA), kTopicSingle));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) { b.padding(12); });
        cases.push_back(routed_case("TotLenSmallerThanFramePadding",
                                    "tot_len < frame (Ethernet padding): routed, padding untouched", XDP_TX, in,
                                    forwarded(in, kSubA), kTopicSingle));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) { b.frag_off(0x4000); });
        cases.push_back(routed_case("DontFragmentRoutes", "DF set is not a fragment: routed", XDP_TX, in,
                                    forwarded(in, kSubA), kTopicSingle));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) { b.ttl(2); });
        cases.push_back(routed_case("Ttl2Decremented", "TTL 2: routed with TTL 1", XDP_TX, in, forwarded(in, kSubA),
                                    kTopicSingle));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) { b.udp_checksum_none(); });
        cases.push_back(routed_case("UdpChecksumZeroStaysZero", "UDP checksum 0 (none) stays 0", XDP_TX, in,
                                    forwarded(in, kSubA), kTopicSingle));
    }
    {
        auto [in, out] = checksum_zero_pair();
        cases.push_back(routed_case("UdpChecksumComputedZeroIsFfff", "a computed UDP checksum 0 is sent as 0xffff",
                                    XDP_TX, in, out, kTopicSingle));
    }
    {
        auto in = tweaked(kTopicOnes, [](PacketBuilder& b) { b.ipv4({0, 0, 0, 1}, {0, 0, 0, 0}).tos(0xff); });
        cases.push_back(routed_case("ChecksumCarriesFolded",
                                    "all-ones new address and port from near-zero ones: every carry folded",
                                    XDP_TX, in, forwarded(in, kSubOnes), kTopicOnes));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) { b.vlan(PacketBuilder::kVlan8021Q, 100); });
        cases.push_back(routed_case("Vlan8021QStrict", "one 802.1Q tag: routed, tag kept", XDP_TX, in,
                                    forwarded(in, kSubA), kTopicSingle));
    }
    {
        auto in = tweaked(kTopicSingle, [](PacketBuilder& b) {
            b.vlan(PacketBuilder::kVlan8021AD, 10).vlan(PacketBuilder::kVlan8021Q, 20).ip_options({1, 1, 1, 0});
        });
        cases.push_back(routed_case("QinQWithOptionsStrict", "802.1ad + 802.1Q tags and IP options: routed",
                                    XDP_TX, in, forwarded(in, kSubA), kTopicSingle));
    }
    cases.push_back(routed_case("RedirectOtherInterface",
                                "endpoint on another NIC present in egress_ports: XDP_REDIRECT, its MAC as source",
                                XDP_REDIRECT, event(kTopicOtherNic),
                                forwarded(event(kTopicOtherNic), kSubFar, kMomIp, kOtherNicMac), kTopicOtherNic));
    cases.push_back(routed_case("EgressEqualsIngressIsTx", "endpoint ifindex == ingress ifindex: XDP_TX", XDP_TX,
                                event(kTopicIngressNic), forwarded(event(kTopicIngressNic), kSubA),
                                kTopicIngressNic));

    // Truncation at every header boundary.
    // Below 14 bytes BPF_PROG_TEST_RUN itself refuses the frame (EINVAL), as drivers never deliver one; the
    // program's own Ethernet bounds check is still there for the verifier. The boundary is tested at 14 bytes.
    cases.push_back(pass_case("TruncatedAfterEthernet", "14-byte frame, ethertype IPv4, no IP header",
                              event(kTopicSingle).truncate(14).build(), none, TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("TruncatedInVlanTag", "802.1Q tag cut after 2 bytes",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.vlan(0x8100, 1).truncate(16); }).build(),
                              none, TEMPOS_PASS_NOT_IPV4));
    cases.push_back(pass_case("TruncatedInSecondVlanTag", "QinQ frame cut inside the inner tag",
                              tweaked(kTopicSingle, [](PacketBuilder& b) {
                                  b.vlan(0x88a8, 1).vlan(0x8100, 2).truncate(20);
                              }).build(),
                              none, TEMPOS_PASS_NOT_IPV4));
    cases.push_back(pass_case("TruncatedInIpHeader", "19 bytes of IP header",
                              event(kTopicSingle).truncate(14 + 19).build(), none, TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("TruncatedInIpOptions", "ihl 6, frame ends inside the options",
                              tweaked(kTopicSingle, [](PacketBuilder& b) {
                                  b.ip_options({1, 1, 1, 0}).truncate(14 + 22);
                              }).build(),
                              none, TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("TruncatedInUdpHeader", "tot_len matches the frame, which ends inside the UDP header",
                              tweaked(kTopicSingle, [](PacketBuilder& b) {
                                  b.tot_len(27).truncate(14 + 27);
                              }).build(),
                              none, TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("ZeroPayloadBytes", "UDP to our port with no payload: no topic",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.payload({}); }).build(), none,
                              TEMPOS_PASS_NO_PAYLOAD));

    // Inconsistent IPv4.
    cases.push_back(pass_case("IhlBelow5", "ihl 4",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.ihl(4); }).build(), none,
                              TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("IpVersion6InIpv4Frame", "version field 6 behind ethertype IPv4",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.version(6); }).build(), none,
                              TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("TotLenLargerThanFrame", "tot_len 1 byte beyond the frame",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.tot_len(20 + 8 + 12 + 1); }).build(),
                              none, TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("TotLenSmallerThanDatagram", "tot_len 1 byte short of the UDP datagram",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.tot_len(20 + 8 + 12 - 1); }).build(),
                              none, TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("TotLenBelowIhl", "tot_len 16 < ihl*4",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.tot_len(16); }).build(), none,
                              TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("MoreFragmentsSet", "MF set, offset 0",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.frag_off(0x2000); }).build(), none,
                              TEMPOS_PASS_FRAGMENT));
    cases.push_back(pass_case("FragmentOffsetSet", "offset 185 (x8 bytes), MF clear",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.frag_off(185); }).build(), none,
                              TEMPOS_PASS_FRAGMENT));

    // Not for us.
    cases.push_back(pass_case("Ipv6", "ethertype IPv6",
                              PacketBuilder().eth(kMomMac, kPublisherMac).raw_l3(PacketBuilder::kEthIpv6, Bytes(60, 0x60)).build(),
                              none, TEMPOS_PASS_NOT_IPV4));
    cases.push_back(pass_case("Arp", "ARP request",
                              PacketBuilder().eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kPublisherMac)
                                  .raw_l3(PacketBuilder::kEthArp, {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 7,
                                                                   0, 0, 0, 0, 0, 0, 10, 0, 0, 1})
                                  .build(),
                              none, TEMPOS_PASS_NOT_IPV4));
    cases.push_back(pass_case("VlanInnerNotIp", "802.1Q tag around an ARP frame",
                              PacketBuilder().eth(kMomMac, kPublisherMac).vlan(0x8100, 5)
                                  .raw_l3(PacketBuilder::kEthArp, Bytes(28, 0)).build(),
                              none, TEMPOS_PASS_NOT_IPV4));
    cases.push_back(pass_case("TcpToMomPort", "TCP segment to port 9998",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.tcp(kPublisherPort, 9998); }).build(),
                              none, TEMPOS_PASS_NOT_OUR_PORT));
    cases.push_back(pass_case("UdpToOtherPort", "UDP to port 9999",
                              event(kTopicSingle, 9999).build(), none, TEMPOS_PASS_NOT_OUR_PORT));
    cases.push_back(pass_case("Port9998NotConfigured", "program configured for 7777: 9998 is not ours",
                              event(kTopicSingle, 9998).build(), none, TEMPOS_PASS_NOT_OUR_PORT, port7777));
    cases.push_back(pass_case("UdpLenTooLarge", "udp.len 1 byte larger than the datagram",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.udp_len(8 + 12 + 1); }).build(), none,
                              TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("UdpLenTooSmall", "udp.len 1 byte smaller than the datagram",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.udp_len(8 + 12 - 1); }).build(), none,
                              TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("UdpLenBelowHeader", "udp.len 4 < 8 (tot_len consistent with it)",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.udp_len(4).tot_len(24).payload({}); }).build(),
                              none, TEMPOS_PASS_MALFORMED));
    cases.push_back(pass_case("HandCraftedMismatch", "hand-written 24-byte IPv4 with tot_len 40",
                              [&] {
                                  Bytes f = PacketBuilder().eth(kMomMac, kPublisherMac).raw_l3(0x0800, l3_24).build();
                                  return f;
                              }(),
                              none, TEMPOS_PASS_MALFORMED));

    // Topics.
    cases.push_back(pass_case("UnknownTopic", "topic 200 has no route", event(kTopicUnknown).build(), kTopicUnknown,
                              TEMPOS_PASS_NOT_STRICT));
    cases.push_back(pass_case("BestEffortTopic", "best-effort topic 5 is served by the socket path",
                              event(kTopicBestEffort).build(), kTopicBestEffort, TEMPOS_PASS_NOT_STRICT));
    cases.push_back(pass_case("FanoutTopic", "topic 10 is served by the TC fan-out program: passed, counted apart",
                              event(kTopicFanout).build(), kTopicFanout, TEMPOS_PASS_FANOUT));
    cases.push_back(pass_case("Ttl1", "TTL 1 on a strict topic",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.ttl(1); }).build(), kTopicSingle,
                              TEMPOS_PASS_TTL));
    cases.push_back(pass_case("Ttl0", "TTL 0 on a strict topic",
                              tweaked(kTopicSingle, [](PacketBuilder& b) { b.ttl(0); }).build(), kTopicSingle,
                              TEMPOS_PASS_TTL));
    cases.push_back(pass_case("FibNoRoute", "member without MAC and no route to it: bpf_fib_lookup fails",
                              event(kTopicFib).build(), kTopicFib, TEMPOS_PASS_FIB));
    cases.push_back(pass_case("EgressMissingFromDevmap", "member's ifindex not in egress_ports",
                              event(kTopicNoEgress).build(), kTopicNoEgress, TEMPOS_PASS_NO_EGRESS));
    {
        RouterCase c = pass_case("RouteWithZeroMembersAborted", "route with count 0: aborted counter, frame passes",
                                 event(kTopicBadRoute).build(), kTopicBadRoute, -1);
        c.outcome = Outcome::aborted;
        cases.push_back(c);
    }
    return cases;
}

class RouterFixture : public ::testing::TestWithParam<RouterCase> {};

tempos_topic_counters expected_counters(const RouterCase& c) {
    tempos_topic_counters e{};
    switch (c.outcome) {
        case Outcome::redirected:
            e.redirected_packets = 1;
            e.redirected_bytes = c.input.size();
            break;
        case Outcome::passed: e.passed[c.pass_reason] = 1; break;
        case Outcome::aborted: e.aborted = 1; break;
    }
    return e;
}

TEST_P(RouterFixture, Case) {
    TEMPOS_REQUIRE_PRIVILEGED();
    const RouterCase& c = GetParam();
    SCOPED_TRACE(c.description);
    ASSERT_EQ(testkit::enter_test_netns().message(), "");
    ASSERT_EQ(testkit::pin_to_current_cpu().message(), "");

    std::string error;
    auto router = LoadedRouter::load(c.settings, error);
    ASSERT_NE(router, nullptr) << error;
    ASSERT_EQ(world::install_standard_routes(*router), "");

    const XdpRun run = run_xdp(router->prog_fd(), c.input);
    ASSERT_EQ(run.error, "");
    EXPECT_EQ(action_name(run.action), action_name(c.expected_action));
    EXPECT_EQ(hex_dump(run.output), hex_dump(c.expected_output));

    // Exactly one counter moved, in the expected slot.
    for (std::uint32_t slot = 0; slot <= TEMPOS_NO_TOPIC_SLOT; ++slot) {
        tempos_topic_counters got{};
        ASSERT_TRUE(router->routes().read_counters(slot, got));
        const tempos_topic_counters want = slot == c.slot ? expected_counters(c) : tempos_topic_counters{};
        EXPECT_EQ(counters_text(got), counters_text(want)) << "slot " << slot;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RouterFixture, ::testing::ValuesIn(make_cases()),
                         [](const ::testing::TestParamInfo<RouterCase>& info) { return info.param.name; });

TEST(RouterFixtureTable, HasAtLeastThirtyUniqueCases) {
    const auto cases = make_cases();
    EXPECT_GE(cases.size(), 30u);
    std::set<std::string> names;
    for (const auto& c : cases) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

TEST(RouterFixtureTable, ChecksumZeroCaseReallyComputesZero) {
    // Guards the fixture itself: the expected frame must carry 0xffff, i.e. the full computation gave 0.
    const Bytes out = checksum_zero_pair().second.build();
    EXPECT_EQ(out[14 + 20 + 6], 0xff);
    EXPECT_EQ(out[14 + 20 + 7], 0xff);
}

}  // namespace
}  // namespace tempos::test
