// The malformed-frame cases `tempos-testkit frames inject` sends in the e2e scenario: what they promise the
// scenario (the counts it checks) and that the frames are what their names say.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <set>
#include <string>

#include "frames/malformed_frames.hpp"

namespace tempos::testkit {
namespace {

const MalformedTarget kTarget{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {10, 77, 0, 1}, {10, 77, 0, 2}, 9998, 1, 2, 77};

const InjectedFrame& frame_named(const MalformedFrames& all, const std::string& name) {
    for (const InjectedFrame& f : all.frames)
        if (f.name == name) return f;
    throw std::runtime_error("no frame " + name);
}

// The UDP checksum of a datagram (from its UDP header on) verifies with the target's pseudo-header.
bool udp_verifies(const std::uint8_t* udp, std::size_t len) {
    const std::uint32_t pseudo = (10 << 8) + 77 + 1 + (10 << 8) + 77 + 2 + 17 + static_cast<std::uint32_t>(len);
    return internet_checksum(udp, len, pseudo) == 0;
}

TEST(MalformedFrames, AllCasesPromiseTheScenarioItsCounts) {
    const Result<MalformedFrames> all = malformed_frames(kTarget, {});
    ASSERT_TRUE(all) << all.message();
    ASSERT_EQ(all->frames.size(), malformed_case_names().size());
    std::set<std::string> names;
    std::map<std::string, int> counts;
    int delivered = 0;
    for (const InjectedFrame& f : all->frames) {
        EXPECT_TRUE(names.insert(f.name).second) << f.name;
        ++counts[f.slot + "." + f.effect];
        delivered += f.delivered;
    }
    const std::map<std::string, int> want{{"none.malformed", 7},       {"none.fragment", 3},
                                          {"none.not_ipv4", 1},        {"none.not_our_port", 1},
                                          {"none.no_payload", 1},      {"strict.redirected", 3},
                                          {"strict.ttl", 1},           {"best_effort.best_effort", 1},
                                          {"unknown.best_effort", 1}};
    EXPECT_EQ(counts, want);
    EXPECT_EQ(delivered, 3);
    EXPECT_EQ(all->last_sequence, kTarget.first_sequence + 16);  // 16 of the 19 frames carry an event
}

TEST(MalformedFrames, FramesAreWhatTheirNamesSay) {
    const MalformedFrames all = *malformed_frames(kTarget, {});
    const Bytes& good = frame_named(all, "ip_options_strict").frame;
    EXPECT_EQ(internet_checksum(&good[14], 24), 0);
    EXPECT_TRUE(udp_verifies(&good[14 + 24], good.size() - 14 - 24));

    const Bytes& bad_ip = frame_named(all, "bad_ip_checksum_strict").frame;
    EXPECT_NE(internet_checksum(&bad_ip[14], 20), 0);
    EXPECT_TRUE(udp_verifies(&bad_ip[34], bad_ip.size() - 34));
    const Bytes& bad_udp = frame_named(all, "bad_udp_checksum_strict").frame;
    EXPECT_EQ(internet_checksum(&bad_udp[14], 20), 0);
    EXPECT_FALSE(udp_verifies(&bad_udp[34], bad_udp.size() - 34));

    // The two fragments carry one datagram, split at 16 bytes, whose checksum verifies once reassembled.
    const Bytes& first = frame_named(all, "fragment_1_of_2").frame;
    const Bytes& second = frame_named(all, "fragment_2_of_2").frame;
    EXPECT_EQ(first[14 + 6] << 8 | first[14 + 7], 0x2000);  // MF, offset 0
    EXPECT_EQ(second[14 + 6] << 8 | second[14 + 7], 2);     // offset 2 x 8 bytes
    Bytes datagram(first.begin() + 34, first.end());
    ASSERT_EQ(datagram.size(), 16u);
    datagram.insert(datagram.end(), second.begin() + 34, second.end());
    EXPECT_EQ(datagram[4] << 8 | datagram[5], static_cast<int>(datagram.size()));
    EXPECT_TRUE(udp_verifies(datagram.data(), datagram.size()));

    // Trailing padding after the UDP length: the checksum is right for the shorter datagram.
    const Bytes& padded = frame_named(all, "udp_length_below_datagram").frame;
    const std::size_t udp_len = padded[34 + 4] << 8 | padded[34 + 5];
    EXPECT_EQ(padded.size() - 34, udp_len + 12);
    EXPECT_TRUE(udp_verifies(&padded[34], udp_len));
}

TEST(MalformedFrames, ChosenCasesOnlyAndUnknownNamesRefused) {
    const Result<MalformedFrames> one = malformed_frames(kTarget, {"ttl_1_strict"});
    ASSERT_TRUE(one) << one.message();
    ASSERT_EQ(one->frames.size(), 1u);
    EXPECT_EQ(one->frames[0].frame[14 + 8], 1);
    const Result<MalformedFrames> unknown = malformed_frames(kTarget, {"no_such_case"});
    EXPECT_EQ(unknown.code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace tempos::testkit
