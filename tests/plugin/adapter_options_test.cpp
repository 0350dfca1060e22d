#include <gtest/gtest.h>

#include <array>

#include "adapter_options.hpp"
#include "topic_stats.hpp"

namespace tempos::xdp {
namespace {

XdpMode mode_of(const std::map<std::string, std::string>& options) {
    auto parsed = parse_adapter_options(options);
    EXPECT_TRUE(parsed.is_ok());
    return parsed.value().mode;
}

TEST(AdapterOptions, DefaultIsAuto) { EXPECT_EQ(mode_of({}), XdpMode::automatic); }

TEST(AdapterOptions, EveryModeParsesAndPrintsBack) {
    for (const char* text : {"auto", "native", "generic", "off"}) {
        EXPECT_EQ(to_string(mode_of({{"xdp_mode", text}})), text);
    }
}

TEST(AdapterOptions, UnknownModeIsAnError) {
    auto parsed = parse_adapter_options({{"xdp_mode", "offload"}});
    ASSERT_FALSE(parsed.is_ok());
    EXPECT_EQ(parsed.code(), ErrorCode::invalid_argument);
    EXPECT_NE(parsed.message().find("offload"), std::string::npos);
}

// persist (docs/restart.md): off by default; only with a bpf_link attach and a kernel path.
TEST(AdapterOptions, PersistDefaultsToFalseAndNeedsALinkAttach) {
    const auto absent = parse_adapter_options({});
    ASSERT_TRUE(absent.is_ok());
    EXPECT_FALSE(absent->persist);
    const auto on = parse_adapter_options({{"persist", "true"}});
    ASSERT_TRUE(on.is_ok()) << on.message();
    EXPECT_TRUE(on->persist);
    EXPECT_FALSE(parse_adapter_options({{"persist", "false"}})->persist);
    const auto word = parse_adapter_options({{"persist", "yes"}});
    ASSERT_FALSE(word.is_ok());
    EXPECT_NE(word.message().find("expected true or false"), std::string::npos) << word.message();
    const auto libxdp = parse_adapter_options({{"persist", "true"}, {"xdp_attach", "libxdp"}});
    ASSERT_FALSE(libxdp.is_ok());
    EXPECT_EQ(libxdp.code(), ErrorCode::invalid_argument);
    EXPECT_NE(libxdp.message().find("persist needs xdp_attach = \"link\""), std::string::npos) << libxdp.message();
    const auto off = parse_adapter_options({{"persist", "true"}, {"xdp_mode", "off"}});
    ASSERT_FALSE(off.is_ok());
    EXPECT_NE(off.message().find("no kernel path to keep"), std::string::npos) << off.message();
}

TEST(AdapterOptions, UnknownKeyIsAnError) {
    auto parsed = parse_adapter_options({{"xdp_mod", "native"}});
    ASSERT_FALSE(parsed.is_ok());
    EXPECT_NE(parsed.message().find("xdp_mod"), std::string::npos);
}

TEST(AdapterOptions, AttachMethodDefaultsToLinkAndTakesLibxdpWithAPriority) {
    const Result<AdapterOptions> defaults = parse_adapter_options({});
    ASSERT_TRUE(defaults) << defaults.message();
    EXPECT_EQ(defaults->attach, XdpAttachMethod::link);
    EXPECT_FALSE(defaults->priority);
    const Result<AdapterOptions> libxdp = parse_adapter_options({{"xdp_attach", "libxdp"}, {"xdp_priority", "1000"}});
    ASSERT_TRUE(libxdp) << libxdp.message();
    EXPECT_EQ(libxdp->attach, XdpAttachMethod::libxdp);
    EXPECT_EQ(libxdp->priority, 1000u);
    EXPECT_EQ(to_string(libxdp->attach), "libxdp");
    EXPECT_EQ(parse_adapter_options({{"xdp_attach", "link"}})->attach, XdpAttachMethod::link);
}

TEST(AdapterOptions, BadAttachMethodOrPriorityIsAnError) {
    for (const std::map<std::string, std::string>& bad :
         std::vector<std::map<std::string, std::string>>{{{"xdp_attach", "LIBXDP"}},
                                                         {{"xdp_attach", ""}},
                                                         {{"xdp_attach", "libxdp"}, {"xdp_priority", "1001"}},
                                                         {{"xdp_attach", "libxdp"}, {"xdp_priority", "-1"}},
                                                         {{"xdp_attach", "libxdp"}, {"xdp_priority", "5x"}},
                                                         {{"xdp_attach", "libxdp"}, {"xdp_priority", ""}},
                                                         {{"xdp_priority", "10"}}}) {
        const Result<AdapterOptions> parsed = parse_adapter_options(bad);
        EXPECT_EQ(parsed.code(), ErrorCode::invalid_argument) << bad.begin()->first;
    }
    EXPECT_NE(parse_adapter_options({{"xdp_priority", "10"}}).message().find("needs xdp_attach = \"libxdp\""),
              std::string::npos);
}

// best_effort_nice (cpumap_threads.hpp): the kernel's priority by default, 0..19.
TEST(AdapterOptions, BestEffortNiceDefaultsToTheKernelsAndTakes0To19) {
    EXPECT_EQ(parse_adapter_options({})->best_effort_nice, 0);
    EXPECT_EQ(parse_adapter_options({{"best_effort_nice", "19"}})->best_effort_nice, 19);
    EXPECT_EQ(parse_adapter_options({{"best_effort_nice", "0"}})->best_effort_nice, 0);
    EXPECT_EQ(parse_adapter_options({{"best_effort_nice", "10"}})->best_effort_nice, 10);
    for (const char* bad : {"-1", "20", "", "19x", "low"}) {
        const Result<AdapterOptions> parsed = parse_adapter_options({{"best_effort_nice", bad}});
        EXPECT_EQ(parsed.code(), ErrorCode::invalid_argument) << bad;
        EXPECT_NE(parsed.message().find("expected 0 (the kernel's priority, the default) to 19"), std::string::npos)
            << parsed.message();
    }
}

TEST(TopicStats, KernelCountersFoldEveryPassReasonButTheFanOutHandOver) {
    tempos_topic_counters kernel{};
    kernel.rr_next = 99;  // a cursor, not a counter
    kernel.redirected_packets = 5;
    kernel.redirected_bytes = 500;
    kernel.aborted = 2;
    for (int i = 0; i < TEMPOS_PASS_REASONS; ++i) kernel.passed[i] = static_cast<__u64>(i + 1);
    TopicStats stats;
    add_kernel_counters(stats, kernel);
    add_socket_counters(stats, SocketCounters{3, 30, 1});
    EXPECT_EQ(stats.kernel_packets, 5u);
    EXPECT_EQ(stats.kernel_bytes, 500u);
    EXPECT_EQ(stats.kernel_dropped, 2u);
    EXPECT_EQ(stats.kernel_passed, static_cast<std::uint64_t>(TEMPOS_PASS_REASONS * (TEMPOS_PASS_REASONS + 1) / 2 -
                                                              (TEMPOS_PASS_FANOUT + 1)));
    EXPECT_EQ(stats.socket_sent, 3u);
    EXPECT_EQ(stats.socket_bytes, 30u);
    EXPECT_EQ(stats.socket_errors, 1u);
    EXPECT_TRUE(has_traffic(stats));
    EXPECT_FALSE(has_traffic(TopicStats{}));
}

// The fan-out's passes are passes to the socket path; unresolved and too big are also counted apart, as the
// router's fib and too_big (tempos_kernel_passed_unresolved_total, tempos_kernel_passed_too_big_total).
TEST(TopicStats, FanoutCountersFoldPassesUnresolvedAndTooBig) {
    tempos_fanout_topic_counters topic{};
    topic.events = 100;
    topic.passed_ttl = 1;
    topic.passed_unresolved = 2;
    topic.passed_gso = 4;
    topic.aborted = 8;
    topic.passed_too_big = 16;
    std::array<tempos_fanout_group_counters, 2> groups{};
    groups[0].copies = 100;
    groups[0].bytes = 6400;
    groups[0].clone_errors = 32;
    groups[0].too_big = 16;  // the group's own count of the event-wide passed_too_big: not added twice
    groups[1].copies = 99;
    groups[1].bytes = 6336;
    groups[1].unresolved = 2;
    TopicStats stats;
    add_fanout_counters(stats, topic, groups);
    EXPECT_EQ(stats.kernel_packets, 199u);
    EXPECT_EQ(stats.kernel_bytes, 12736u);
    EXPECT_EQ(stats.kernel_passed, 1u + 2u + 4u + 16u);
    EXPECT_EQ(stats.kernel_passed_unresolved, 2u);
    EXPECT_EQ(stats.kernel_passed_too_big, 16u);
    EXPECT_EQ(stats.kernel_dropped, 8u + 32u);
}

}  // namespace
}  // namespace tempos::xdp
