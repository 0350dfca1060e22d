// The packet builder is the independent oracle of the router fixtures: check it against known values.
#include <gtest/gtest.h>

#include "frames/frame_world.hpp"
#include "frames/packet_builder.hpp"

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
    b.forwarded({3, 3, 3, 3, 3, 3}, {4, 4, 4, 4, 4, 4}, {10, 0, 0, 1}, {10, 0, 1, 10}, 5001);
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

}  // namespace
}  // namespace tempos::testkit
