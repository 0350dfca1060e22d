// The packet builder is the independent oracle of the router fixtures: check it against known values.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "frames/frame_world.hpp"
#include "frames/packet_builder.hpp"
#include "frames/router_fixtures.hpp"
#include "frames/udp_checksum_check.hpp"

namespace tempos::testkit {
namespace {

TEST(PacketBuilder, IpHeaderChecksumMatchesAKnownHeader) {
    // A textbook header (RFC 1071 style example) whose checksum is 0xb861.
    const Bytes header{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(internet_checksum(header.data(), header.size()), 0xb861);
}

TEST(PacketBuilder, BuiltFrameVerifiesAndHasTheRequestedFields) {
    PacketBuilder b;
    b.eth({1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}).ipv4({10, 0, 0, 7}, {10, 0, 0, 1}).ttl(9).udp(1000, 9998)
        .payload({42, 1, 2});
    const Bytes f = b.build();
    ASSERT_EQ(f.size(), 14u + 20 + 8 + 3);
    EXPECT_EQ(f[12], 0x08);
    EXPECT_EQ(f[13], 0x00);
    EXPECT_EQ(f[14], 0x45);
    EXPECT_EQ(f[14 + 8], 9);
    EXPECT_EQ(f[14 + 9], 17);
    EXPECT_EQ(f[14 + 2] << 8 | f[14 + 3], 20 + 8 + 3);
    EXPECT_EQ(f[34 + 2] << 8 | f[34 + 3], 9998);
    EXPECT_EQ(f[34 + 4] << 8 | f[34 + 5], 8 + 3);
    EXPECT_EQ(f[42], 42);
    // A header with a correct checksum sums to 0xffff, i.e. the checksum over it is 0.
    EXPECT_EQ(internet_checksum(&f[14], 20), 0);
    // UDP: pseudo-header + segment verifies to 0 as well.
    const std::uint32_t pseudo = (10 << 8) + 7 + (10 << 8) + 1 + 17 + (8 + 3);
    EXPECT_EQ(internet_checksum(&f[34], 8 + 3, pseudo), 0);
}

TEST(PacketBuilder, ForwardedChangesOnlyTheRewrittenFields) {
    PacketBuilder b;
    b.eth({1, 1, 1, 1, 1, 1}, {2, 2, 2, 2, 2, 2}).ipv4({10, 0, 0, 7}, {10, 0, 0, 1}).ttl(64).udp(1000, 9998)
        .payload({1});
    const Bytes in = b.build();
    b.forwarded({3, 3, 3, 3, 3, 3}, {4, 4, 4, 4, 4, 4}, Ipv4Addr{10, 0, 0, 1}, Ipv4Addr{10, 0, 1, 10}, 5001);
    const Bytes out = b.build();
    ASSERT_EQ(in.size(), out.size());
    EXPECT_EQ(out[0], 3);
    EXPECT_EQ(out[6], 4);
    EXPECT_EQ(out[14 + 8], 63);
    EXPECT_EQ(out[36] << 8 | out[37], 5001);
    EXPECT_EQ(out[34] << 8 | out[35], 1000);
    EXPECT_EQ(out[42], 1);
    EXPECT_EQ(internet_checksum(&out[14], 20), 0);
}

TEST(PacketBuilder, ChecksumNoneAndTruncation) {
    PacketBuilder b;
    b.ipv4({1, 2, 3, 4}, {5, 6, 7, 8}).udp(1, 2).payload({9}).udp_checksum_none();
    Bytes f = b.build();
    EXPECT_EQ(f[40], 0);
    EXPECT_EQ(f[41], 0);
    b.truncate(20);
    EXPECT_EQ(b.build().size(), 20u);
}

TEST(PacketBuilder, BadChecksumsAreTheGoodOnesWithTheLowByteFlipped) {
    PacketBuilder b;
    b.ipv4({10, 0, 0, 7}, {10, 0, 0, 1}).udp(1000, 9998).payload({1, 2, 3});
    const Bytes good = b.build();
    const Bytes bad_udp = PacketBuilder(b).bad_udp_checksum().build();
    const Bytes bad_ip = PacketBuilder(b).bad_ip_checksum().build();
    EXPECT_EQ(bad_udp[40], good[40]);
    EXPECT_EQ(bad_udp[41], good[41] ^ 0xff);
    EXPECT_EQ(bad_ip[24], good[24]);
    EXPECT_EQ(bad_ip[25], good[25] ^ 0xff);
    EXPECT_NE(internet_checksum(&bad_ip[14], 20), 0);
}

TEST(PacketBuilder, IpPayloadReplacesTheDatagram) {
    PacketBuilder b;
    b.ipv4({10, 0, 0, 7}, {10, 0, 0, 1}).frag_off(2).ip_payload({9, 8, 7, 6});
    const Bytes f = b.build();
    ASSERT_EQ(f.size(), 14u + 20 + 4);
    EXPECT_EQ(f[14 + 2] << 8 | f[14 + 3], 20 + 4);
    EXPECT_EQ(f[14 + 9], 17);
    EXPECT_EQ(f[34], 9);
    EXPECT_EQ(f[37], 6);
    EXPECT_EQ(internet_checksum(&f[14], 20), 0);
}

// The live-frames generator sends exactly 64-byte frames; the prog benchmark relies on TTL 255.
TEST(PacketBuilder, BenchEventIsSixtyFourValidBytes) {
    const Bytes f = bench_event(world::kMomMac, world::kPublisherMac, world::kPublisherIp, world::kMomIp,
                                world::kMomPort, 1).build();
    ASSERT_EQ(f.size(), 64u);
    EXPECT_EQ(f[14 + 8], 255);
    EXPECT_EQ(f[42], 1);
    EXPECT_EQ(internet_checksum(&f[14], 20), 0);
    const std::uint32_t pseudo = (10 << 8) + 7 + (10 << 8) + 1 + 17 + (64 - 34);
    EXPECT_EQ(internet_checksum(&f[34], 64 - 34, pseudo), 0);
}

// CHECKSUM_PARTIAL as a veth sender leaves it: 10.0.0.7 -> 10.0.0.1, UDP length 20: the folded pseudo-header sum
// 0x0a00 + 0x0007 + 0x0a00 + 0x0001 + 0x0011 + 0x0014 = 0x142d, not complemented.
TEST(PacketBuilder, PartialChecksumIsThePseudoHeaderSum) {
    const Bytes f = world::event(1).payload({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}).udp_checksum_partial().build();
    EXPECT_EQ(f[40] << 8 | f[41], 0x142d);
    EXPECT_EQ(check_udp_checksum(f.data(), f.size(), true), UdpChecksumVerdict::partial_ok);
    EXPECT_EQ(check_udp_checksum(f.data(), f.size(), false), UdpChecksumVerdict::complete_bad)
        << "without the mark the field is not a checksum";
}

// IPv6: the fixed header, extension headers chained by their next-header bytes, and the UDP checksum over the
// 40-byte pseudo-header (both addresses, the UDP length, next header 17), summed here by hand.
TEST(PacketBuilder, Ipv6HeaderExtensionHeadersAndChecksum) {
    const Bytes f = world::event6(1).ttl(9).tos(0xab).ipv6_ext(0, {1, 4, 0, 0, 0, 0}).ipv6_ext(60, Bytes(14, 0)).build();
    ASSERT_EQ(f.size(), 14u + 40 + 8 + 16 + 8 + 12);
    EXPECT_EQ(f[12] << 8 | f[13], 0x86dd);
    EXPECT_EQ(f[14], 0x6a);  // version 6, traffic class 0xab
    EXPECT_EQ(f[15], 0xb0);
    EXPECT_EQ(f[18] << 8 | f[19], 8 + 16 + 8 + 12);  // payload length
    EXPECT_EQ(f[20], 0);    // next header: hop-by-hop
    EXPECT_EQ(f[21], 9);    // hop limit
    EXPECT_EQ(f[54], 60);   // hop-by-hop's next: destination options
    EXPECT_EQ(f[55], 0);    // 8 bytes
    EXPECT_EQ(f[62], 17);   // destination options' next: UDP
    EXPECT_EQ(f[63], 1);    // 16 bytes
    const std::size_t udp = 14 + 40 + 24;
    EXPECT_EQ(f[udp + 4] << 8 | f[udp + 5], 20);
    std::uint32_t pseudo = 17 + 20;
    for (std::size_t i = 22; i < 54; i += 2) pseudo += static_cast<std::uint32_t>(f[i] << 8 | f[i + 1]);
    EXPECT_EQ(internet_checksum(&f[udp], 20, pseudo), 0);
    EXPECT_EQ(check_udp_checksum(f.data(), f.size(), false), UdpChecksumVerdict::complete_ok);
    const Bytes partial = world::event6(1).udp_checksum_partial().build();
    EXPECT_EQ(check_udp_checksum(partial.data(), partial.size(), true), UdpChecksumVerdict::partial_ok);
}

TEST(UdpChecksumCheck, RecomputesInFullAndTellsTheForms) {
    const Bytes good = world::event(1).build();
    EXPECT_EQ(check_udp_checksum(good.data(), good.size(), false), UdpChecksumVerdict::complete_ok);
    EXPECT_EQ(check_udp_checksum(good.data(), good.size(), true), UdpChecksumVerdict::partial_bad);
    const Bytes bad = world::event(1).bad_udp_checksum().build();
    EXPECT_EQ(check_udp_checksum(bad.data(), bad.size(), false), UdpChecksumVerdict::complete_bad);
    const Bytes none = world::event(1).udp_checksum_none().build();
    EXPECT_EQ(check_udp_checksum(none.data(), none.size(), false), UdpChecksumVerdict::none);
    const Bytes padded = world::event(1).padding(12).build();
    EXPECT_EQ(check_udp_checksum(padded.data(), padded.size(), false), UdpChecksumVerdict::complete_ok);
    const Bytes tagged = world::event(1).vlan(PacketBuilder::kVlan8021Q, 7).build();
    std::uint16_t port = 0;
    EXPECT_EQ(check_udp_checksum(tagged.data(), tagged.size(), false, &port), UdpChecksumVerdict::complete_ok);
    EXPECT_EQ(port, world::kMomPort);
    const Bytes arp = PacketBuilder().eth(world::kMomMac, world::kPublisherMac).raw_l3(PacketBuilder::kEthArp, Bytes(28, 0)).build();
    EXPECT_EQ(check_udp_checksum(arp.data(), arp.size(), false), UdpChecksumVerdict::not_udp);
    EXPECT_EQ(check_udp_checksum(good.data(), 30, false), UdpChecksumVerdict::not_udp);
}

// Guards the fixture table: the routed rows' expected frames are what a receiver accepts, checked by full
// recomputation: complete checksums verify, a generic row with CHECKSUM_PARTIAL input keeps the pseudo-header sum
// of its new addresses (the kernel completes it), checksum 0 stays none.
TEST(UdpChecksumCheck, EveryRoutedFixtureOutputVerifies) {
    int partial_rows = 0;
    for (const RouterFixture& row : router_fixtures()) {
        if (row.expected_action == XDP_PASS) continue;
        const bool partial_in =
            check_udp_checksum(row.input.data(), row.input.size(), true) == UdpChecksumVerdict::partial_ok;
        partial_rows += partial_in;
        const bool stays_partial = partial_in && row.mom.generic;
        const UdpChecksumVerdict got =
            check_udp_checksum(row.expected_output.data(), row.expected_output.size(), stays_partial);
        if (got == UdpChecksumVerdict::none) continue;
        EXPECT_EQ(verdict_name(got), verdict_name(stays_partial ? UdpChecksumVerdict::partial_ok
                                                                : UdpChecksumVerdict::complete_ok))
            << row.name;
    }
    EXPECT_GE(partial_rows, 10);
}

}  // namespace
}  // namespace tempos::testkit
