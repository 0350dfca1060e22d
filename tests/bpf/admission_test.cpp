// Admission control in the XDP router (bpf/admission.h) over sequences of frames: bursts, refill after time
// passes (the router's test clock is moved, nothing sleeps), per-topic and per-source buckets (IPv4 and IPv6
// sources), strict events and the publisher limit, limit changes, and one bucket shared by concurrent CPUs.
#include <gtest/gtest.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admission_table.hpp"
#include "frames/frame_world.hpp"
#include "frames/router_fixtures.hpp"
#include "privileged.hpp"
#include "router_harness.hpp"
#include "standard_router_test.hpp"

namespace tempos::test {
namespace {

using namespace testkit::world;

constexpr std::uint64_t kStart = 1'000'000'000'000;  // the test clock's first reading, ns
constexpr std::uint64_t kMs = 1'000'000;

class Admission : public StandardRouterTest {
protected:
    void SetUp() override {
        StandardRouterTest::SetUp();
        if (HasFatalFailure() || IsSkipped()) return;
        limits_.emplace(router_->maps().topic_limits);
        ASSERT_TRUE(limits_->set(TEMPOS_PUBLISHER_LIMIT_SLOT, std::nullopt));
        set_clock(kStart);
    }

    void set_clock(std::uint64_t ns) { router_->skel->bss->admission_test_clock_ns = ns; }
    void advance(std::uint64_t ns) { router_->skel->bss->admission_test_clock_ns += ns; }

    // The actions of `count` runs of `frame`, as names.
    std::vector<std::string> run(const PacketBuilder& frame, int count) {
        std::vector<std::string> actions;
        for (int i = 0; i < count; ++i) {
            const Result<XdpRun> r = run_xdp(router_->prog_fd(), frame.build());
            EXPECT_TRUE(r) << r.message();
            actions.push_back(r ? action_name(r->action) : r.message());
        }
        return actions;
    }

    static PacketBuilder from(const testkit::Ipv4Addr& source, std::uint8_t topic) {
        PacketBuilder b = event(topic);
        b.ipv4(source, kMomIp);
        return b;
    }

    static PacketBuilder from6(const testkit::Ipv6Addr& source, std::uint8_t topic) {
        PacketBuilder b = event6(topic);
        b.ipv6(source, kMomIp6);
        return b;
    }

    std::optional<xdp::AdmissionTable> limits_;
};

using Actions = std::vector<std::string>;
const std::string kPass = "XDP_PASS", kDrop = "XDP_DROP", kTx = "XDP_TX";

TEST_F(Admission, BurstThenOnePerIntervalAndRefillAfterTimePasses) {
    ASSERT_TRUE(limits_->set(kTopicBestEffort, RateLimit{1000, 3}));  // one per ms, three back to back
    const PacketBuilder be = event(kTopicBestEffort);
    EXPECT_EQ(run(be, 4), (Actions{kPass, kPass, kPass, kDrop}));
    advance(kMs - 1);
    EXPECT_EQ(run(be, 1), (Actions{kDrop})) << "1 ns before the next interval";
    advance(1);
    EXPECT_EQ(run(be, 2), (Actions{kPass, kDrop}));
    advance(1000 * kMs);  // a second idle saves no more than the burst
    EXPECT_EQ(run(be, 4), (Actions{kPass, kPass, kPass, kDrop}));

    const tempos_topic_counters c = counters(kTopicBestEffort);
    EXPECT_EQ(c.passed[TEMPOS_PASS_NOT_STRICT], 7u);
    EXPECT_EQ(c.policed[TEMPOS_POLICE_TOPIC_RATE], 4u);
    EXPECT_EQ(c.policed[TEMPOS_POLICE_PUBLISHER_RATE] + c.policed[TEMPOS_POLICE_CONTENDED], 0u);
}

TEST_F(Admission, TopicsHaveTheirOwnBuckets) {
    ASSERT_TRUE(limits_->set(kTopicBestEffort, RateLimit{1000, 1}));
    ASSERT_TRUE(limits_->set(kTopicUnknown, RateLimit{1000, 2}));
    EXPECT_EQ(run(event(kTopicBestEffort), 2), (Actions{kPass, kDrop}));
    EXPECT_EQ(run(event(kTopicUnknown), 3), (Actions{kPass, kPass, kDrop}));
    EXPECT_EQ(counters(kTopicUnknown).policed[TEMPOS_POLICE_TOPIC_RATE], 1u);
}

TEST_F(Admission, PublisherLimitIsPerSourceAndNeverPolicesStrictEvents) {
    ASSERT_TRUE(limits_->set(TEMPOS_PUBLISHER_LIMIT_SLOT, RateLimit{1000, 2}));
    const testkit::Ipv4Addr a{10, 0, 0, 20}, b{10, 0, 0, 21};
    EXPECT_EQ(run(from(a, kTopicBestEffort), 3), (Actions{kPass, kPass, kDrop}));
    EXPECT_EQ(run(from(b, kTopicBestEffort), 3), (Actions{kPass, kPass, kDrop})) << "b has a bucket of its own";
    EXPECT_EQ(run(from(a, kTopicUnknown), 1), (Actions{kDrop})) << "one bucket per source, whatever the topic";
    EXPECT_EQ(run(from(a, kTopicSingle), 5), (Actions{kTx, kTx, kTx, kTx, kTx})) << "strict: topic limits only";
    EXPECT_EQ(counters(kTopicBestEffort).policed[TEMPOS_POLICE_PUBLISHER_RATE], 2u);
    EXPECT_EQ(counters(kTopicUnknown).policed[TEMPOS_POLICE_PUBLISHER_RATE], 1u);
    advance(kMs);
    EXPECT_EQ(run(from(a, kTopicBestEffort), 2), (Actions{kPass, kDrop})) << "refilled by one interval";
}

// IPv6 sources (docs/ipv6.md): the same limit, keyed by the full 128-bit source address; two addresses of one /64
// are two publishers.
TEST_F(Admission, PublisherLimitIsPerIpv6SourceAndRefillsWhenTheClockMoves) {
    ASSERT_TRUE(limits_->set(TEMPOS_PUBLISHER_LIMIT_SLOT, RateLimit{1000, 2}));
    const testkit::Ipv6Addr a{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20};
    testkit::Ipv6Addr b = a;
    b[15] = 0x21;  // the same /64
    EXPECT_EQ(run(from6(a, kTopicBestEffort), 3), (Actions{kPass, kPass, kDrop}));
    EXPECT_EQ(run(from6(b, kTopicBestEffort), 3), (Actions{kPass, kPass, kDrop})) << "b has a bucket of its own";
    EXPECT_EQ(run(from6(a, kTopicUnknown), 1), (Actions{kDrop})) << "one bucket per source, whatever the topic";
    EXPECT_EQ(run(from6(a, kTopicSingle6), 5), (Actions{kTx, kTx, kTx, kTx, kTx})) << "strict: topic limits only";
    EXPECT_EQ(counters(kTopicBestEffort).policed[TEMPOS_POLICE_PUBLISHER_RATE], 2u);
    EXPECT_EQ(counters(kTopicUnknown).policed[TEMPOS_POLICE_PUBLISHER_RATE], 1u);
    EXPECT_EQ(counters(kTopicBestEffort).passed[TEMPOS_PASS_NOT_STRICT], 4u);
    advance(kMs - 1);
    EXPECT_EQ(run(from6(a, kTopicBestEffort), 1), (Actions{kDrop})) << "1 ns before the next interval";
    advance(1);
    EXPECT_EQ(run(from6(a, kTopicBestEffort), 2), (Actions{kPass, kDrop})) << "refilled by one interval";
    advance(1000 * kMs);  // a second idle saves no more than the burst
    EXPECT_EQ(run(from6(b, kTopicBestEffort), 3), (Actions{kPass, kPass, kDrop}));
}

// One address, one family: ::ffff:a.b.c.d is the IPv4 source a.b.c.d and spends its bucket.
TEST_F(Admission, Ipv4MappedSourceSharesTheIpv4SourcesBucket) {
    ASSERT_TRUE(limits_->set(TEMPOS_PUBLISHER_LIMIT_SLOT, RateLimit{1000, 2}));
    const testkit::Ipv4Addr v4{10, 0, 0, 30};
    const testkit::Ipv6Addr mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 30};
    EXPECT_EQ(run(from(v4, kTopicBestEffort), 1), (Actions{kPass}));
    EXPECT_EQ(run(from6(mapped, kTopicBestEffort), 2), (Actions{kPass, kDrop}));
    EXPECT_EQ(run(from(v4, kTopicBestEffort), 1), (Actions{kDrop}));
}

// The bucket the router created for an IPv6 source is the one user space finds under xdp::source_key.
TEST_F(Admission, Ipv6SourceBucketIsKeyedByTheFullAddress) {
    ASSERT_TRUE(limits_->set(TEMPOS_PUBLISHER_LIMIT_SLOT, RateLimit{1000, 5}));
    const testkit::Ipv6Addr a{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40};
    EXPECT_EQ(run(from6(a, kTopicBestEffort), 1), (Actions{kPass}));
    const tempos_source_key key = xdp::source_key(a);
    tempos_bucket bucket{};
    ASSERT_EQ(bpf_map_lookup_elem(router_->maps().pub_buckets, &key, &bucket), 0) << std::strerror(errno);
    EXPECT_EQ(bucket.tat_ns, kStart + kMs) << "one interval after the first event";
}

TEST_F(Admission, StrictTopicWithItsOwnLimitIsPoliced) {
    ASSERT_TRUE(limits_->set(kTopicSingle, RateLimit{1000, 1}));
    EXPECT_EQ(run(event(kTopicSingle), 2), (Actions{kTx, kDrop}));
    const tempos_topic_counters c = counters(kTopicSingle);
    EXPECT_EQ(c.redirected_packets, 1u);
    EXPECT_EQ(c.policed[TEMPOS_POLICE_TOPIC_RATE], 1u);
}

TEST_F(Admission, ChangedLimitTakesEffectAtOnceAndRemovalStopsPolicing) {
    ASSERT_TRUE(limits_->set(kTopicBestEffort, RateLimit{1000, 1}));
    EXPECT_EQ(run(event(kTopicBestEffort), 2), (Actions{kPass, kDrop}));
    // The bucket keeps its schedule (1 ms ahead); a burst of 5 lets it run 4 ms ahead: four more now.
    ASSERT_TRUE(limits_->set(kTopicBestEffort, RateLimit{1000, 5}));
    EXPECT_EQ(run(event(kTopicBestEffort), 5), (Actions{kPass, kPass, kPass, kPass, kDrop}));
    const Result<std::optional<tempos_rate_limit>> held = limits_->get(kTopicBestEffort);
    ASSERT_TRUE(held) << held.message();
    ASSERT_TRUE(held->has_value());
    EXPECT_EQ((*held)->interval_ns, kMs);
    EXPECT_EQ((*held)->tolerance_ns, 4 * kMs);
    ASSERT_TRUE(limits_->set(kTopicBestEffort, std::nullopt));
    EXPECT_EQ(run(event(kTopicBestEffort), 3), (Actions{kPass, kPass, kPass}));
}

// Two CPUs hammer one topic's bucket with the clock stopped: exactly the burst is admitted, whatever the
// interleaving (a lost update would admit more); the rest is policed, as over the limit or contended.
TEST_F(Admission, ConcurrentCpusShareOneBucketAndNeverExceedIt) {
    constexpr std::uint64_t kBurst = 1000;
    constexpr int kPerCpu = 20000;
    ASSERT_TRUE(limits_->set(kTopicBestEffort, RateLimit{1, kBurst}));
    const Bytes frame = event(kTopicBestEffort).build();
    const int prog = router_->prog_fd();
    const unsigned cpus = std::min(2u, std::thread::hardware_concurrency());
    std::vector<std::thread> threads;
    std::vector<std::string> errors(cpus);
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
        threads.emplace_back([&, cpu] {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            if (sched_setaffinity(0, sizeof(set), &set) != 0) errors[cpu] = std::strerror(errno);
            std::vector<std::uint8_t> out(frame.size() + 256);
            LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                        .data_size_in = static_cast<__u32>(frame.size()), .data_size_out = static_cast<__u32>(out.size()),
                        .repeat = kPerCpu);
            if (bpf_prog_test_run_opts(prog, &opts) != 0) errors[cpu] = std::strerror(errno);
        });
    }
    for (std::thread& t : threads) t.join();
    for (const std::string& e : errors) ASSERT_EQ(e, "");

    const tempos_topic_counters c = counters(kTopicBestEffort);
    EXPECT_EQ(c.passed[TEMPOS_PASS_NOT_STRICT], kBurst);
    EXPECT_EQ(c.policed[TEMPOS_POLICE_TOPIC_RATE] + c.policed[TEMPOS_POLICE_CONTENDED], cpus * kPerCpu - kBurst);
    EXPECT_EQ(c.policed[TEMPOS_POLICE_PUBLISHER_RATE], 0u);
}

}  // namespace
}  // namespace tempos::test
