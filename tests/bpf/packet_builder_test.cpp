// The packet builder is the independent oracle of the router fixtures: check it against known values.
#include <gtest/gtest.h>

#include "packet_builder.hpp"

namespace tempos::test {
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

}  // namespace
}  // namespace tempos::test
