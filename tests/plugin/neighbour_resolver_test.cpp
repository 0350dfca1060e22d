// The neighbour resolver's decisions without a kernel: which entries give a MAC, which are (re)resolved, and what a
// new answer about a followed next hop means for the routes.
#include <gtest/gtest.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "neighbour_resolver.hpp"
#include "rtnetlink.hpp"

namespace tempos::xdp {
namespace {

const Mac kOld{0x02, 0, 0, 0, 0, 0x01};
const Mac kNew{0x02, 0, 0, 0, 0, 0x02};
const NextHop kHop{3, Ipv4{10, 0, 0, 2}};
// fd00::2, an IPv6 next hop (NDP) on the same interface.
const NextHop kHop6{3, Ipv6{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};

NeighbourEntry entry(std::uint16_t state, std::optional<Mac> mac = kOld) { return NeighbourEntry{state, mac}; }

TEST(NeighbourEntry, ValidStatesGiveTheirMacOthersNone) {
    for (std::uint16_t state : {NUD_REACHABLE, NUD_STALE, NUD_DELAY, NUD_PROBE, NUD_PERMANENT, NUD_NOARP})
        EXPECT_EQ(usable_mac(entry(state)), kOld) << "state " << state;
    for (std::uint16_t state : {NUD_NONE, NUD_INCOMPLETE, NUD_FAILED})
        EXPECT_EQ(usable_mac(entry(state)), std::nullopt) << "state " << state;
    EXPECT_EQ(usable_mac(entry(NUD_REACHABLE, std::nullopt)), std::nullopt) << "no link-layer address";
    EXPECT_EQ(usable_mac(std::nullopt), std::nullopt) << "no entry";
}

// The router's frames never confirm a neighbour: a stale entry is re-verified, a failed or missing one resolved; a
// resolution under way, a confirmed or a static entry is left alone.
TEST(NeighbourEntry, MissingNoneFailedAndStaleAreResolved) {
    EXPECT_TRUE(needs_resolution(std::nullopt));
    for (std::uint16_t state : {NUD_NONE, NUD_FAILED, NUD_STALE})
        EXPECT_TRUE(needs_resolution(entry(state))) << "state " << state;
    for (std::uint16_t state : {NUD_INCOMPLETE, NUD_DELAY, NUD_PROBE, NUD_REACHABLE, NUD_PERMANENT, NUD_NOARP})
        EXPECT_FALSE(needs_resolution(entry(state))) << "state " << state;
}

TEST(FollowedNeighbours, FirstAnswerIsFollowedWithoutAChange) {
    FollowedNeighbours followed;
    EXPECT_FALSE(followed.follows(kHop));
    const FollowedNeighbours::Update update = followed.follow(kHop, std::nullopt);
    EXPECT_FALSE(update.mac_changed);
    EXPECT_TRUE(update.resolve) << "no entry yet: the kernel is asked";
    EXPECT_TRUE(followed.follows(kHop));
    EXPECT_EQ(followed.mac(kHop), std::nullopt);
    EXPECT_EQ(followed.unresolved(), std::vector<NextHop>{kHop});
}

TEST(FollowedNeighbours, EventsAboutOtherNextHopsAreIgnored) {
    FollowedNeighbours followed;
    followed.follow(kHop, entry(NUD_REACHABLE));
    const NextHop other{3, Ipv4{10, 0, 0, 9}};
    const FollowedNeighbours::Update update = followed.observe(other, std::nullopt);
    EXPECT_FALSE(update.mac_changed);
    EXPECT_FALSE(update.resolve);
    EXPECT_FALSE(followed.follows(other));
    const NextHop same_address_other_interface{4, kHop.address};
    EXPECT_FALSE(followed.observe(same_address_other_interface, entry(NUD_REACHABLE, kNew)).mac_changed);
    EXPECT_EQ(followed.mac(kHop), kOld);
}

// Learnt, changed (an announcement), failed, learnt again: each is one change; a state change that keeps the MAC
// (reachable -> stale -> probe -> reachable) is none.
TEST(FollowedNeighbours, MacChangesAreReportedOnceAndStateChangesThatKeepTheMacAreNot) {
    FollowedNeighbours followed;
    followed.follow(kHop, entry(NUD_INCOMPLETE, std::nullopt));
    EXPECT_TRUE(followed.observe(kHop, entry(NUD_REACHABLE)).mac_changed);
    EXPECT_EQ(followed.mac(kHop), kOld);
    EXPECT_TRUE(followed.unresolved().empty());

    const FollowedNeighbours::Update stale = followed.observe(kHop, entry(NUD_STALE));
    EXPECT_FALSE(stale.mac_changed);
    EXPECT_TRUE(stale.resolve) << "a stale entry is re-verified";
    EXPECT_FALSE(followed.observe(kHop, entry(NUD_PROBE)).resolve);
    EXPECT_FALSE(followed.observe(kHop, entry(NUD_REACHABLE)).mac_changed);

    EXPECT_TRUE(followed.observe(kHop, entry(NUD_STALE, kNew)).mac_changed);
    EXPECT_EQ(followed.mac(kHop), kNew);

    const FollowedNeighbours::Update failed = followed.observe(kHop, entry(NUD_FAILED, std::nullopt));
    EXPECT_TRUE(failed.mac_changed);
    EXPECT_TRUE(failed.resolve) << "a failed neighbour is asked again";
    EXPECT_EQ(followed.mac(kHop), std::nullopt);
    EXPECT_EQ(followed.unresolved(), std::vector<NextHop>{kHop});

    const FollowedNeighbours::Update deleted = followed.observe(kHop, std::nullopt);
    EXPECT_FALSE(deleted.mac_changed) << "already unresolved";
    EXPECT_TRUE(deleted.resolve);
    EXPECT_TRUE(followed.observe(kHop, entry(NUD_REACHABLE, kNew)).mac_changed);
}

TEST(FollowedNeighbours, FollowingAgainIsAnObservation) {
    FollowedNeighbours followed;
    followed.follow(kHop, entry(NUD_REACHABLE));
    EXPECT_TRUE(followed.follow(kHop, entry(NUD_REACHABLE, kNew)).mac_changed);
    EXPECT_EQ(followed.hops(), std::vector<NextHop>{kHop});
}

// ARP and NDP next hops are followed side by side: an IPv4 address whose bytes begin an IPv6 one is another hop.
TEST(FollowedNeighbours, Ipv4AndIpv6NextHopsAreFollowedApart) {
    FollowedNeighbours followed;
    followed.follow(kHop, entry(NUD_REACHABLE));
    const NextHop v6_like_v4{3, Ipv6{10, 0, 0, 2}};
    EXPECT_FALSE(followed.observe(v6_like_v4, entry(NUD_REACHABLE, kNew)).mac_changed);
    EXPECT_FALSE(followed.follows(v6_like_v4));
    followed.follow(kHop6, entry(NUD_INCOMPLETE, std::nullopt));
    EXPECT_EQ(followed.unresolved(), std::vector<NextHop>{kHop6});
    EXPECT_TRUE(followed.observe(kHop6, entry(NUD_REACHABLE, kNew)).mac_changed);
    EXPECT_EQ(followed.mac(kHop6), kNew);
    EXPECT_EQ(followed.mac(kHop), kOld);
    EXPECT_EQ(followed.hops(), (std::vector<NextHop>{kHop, kHop6}));
}

// What the resolver writes into a request (NDA_DST, RTA_DST) and reads from an answer, for both families; other
// lengths (a malformed attribute) are no address.
TEST(NetlinkAddress, BothFamiliesRoundTripThroughAnAttribute) {
    for (const IpAddress& address : {kHop.address, kHop6.address}) {
        RtnlRequest request(RTM_GETNEIGH, NLM_F_REQUEST);
        const std::size_t length = put_address(request.header(), NDA_DST, address);
        EXPECT_EQ(length, std::holds_alternative<Ipv4>(address) ? 4u : 16u);
        EXPECT_EQ(address_family(address), std::holds_alternative<Ipv4>(address) ? AF_INET : AF_INET6);
        const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload(request.header()));
        EXPECT_EQ(mnl_attr_get_type(attr), NDA_DST);
        EXPECT_EQ(address_attribute(attr), std::optional<IpAddress>(address)) << format_ip(address);
    }
    RtnlRequest odd(RTM_GETNEIGH, NLM_F_REQUEST);
    const std::uint8_t six[6] = {1, 2, 3, 4, 5, 6};
    mnl_attr_put(odd.header(), NDA_DST, sizeof six, six);
    EXPECT_EQ(address_attribute(static_cast<const nlattr*>(mnl_nlmsg_get_payload(odd.header()))), std::nullopt);
}

}  // namespace
}  // namespace tempos::xdp
