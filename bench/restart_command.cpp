// tempos-bench restart: what a restart and an upgrade of tempos-mom cost a strict stream (issue 14,
// docs/restart.md). tempos-pub sends --count strict events at --rate to sub1 through tempos-mom; once a quarter
// has arrived tempos-mom is stopped and a new one started at once: "restart" (SIGTERM), "kill" (SIGKILL, a crash
// under Restart=on-failure) and "upgrade" (SIGTERM, the new one with the test-only plugin whose router object
// was rebuilt, tests/e2e/upgrade), each with and without persist. Per case: events lost, duplicates, and the
// longest time between two arrivals at sub1 (tempos-sub's arrival_gap_max_us); beside them the same stream
// without a restart (its inter-arrival p99 and longest gap), the yardstick of the target: with persist, 0 lost
// and a gap <= 2x the idle inter-arrival p99.
#include "commands.hpp"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_mom.hpp"
#include "endpoints.hpp"
#include "process/process.hpp"
#include "subcommand.hpp"
#include "topology/layouts.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

namespace {

namespace p2p = testkit::world::point_to_point;

struct RestartOptions : CommonOptions {
    double rate = 10'000;  // strict events per second
    std::uint64_t count = 20'000;
    std::string xdp_mode = "native";
    int pub_cpu = 0;
    int endpoint_priority = 50;  // SCHED_FIFO of tempos-pub/-sub, as in latency; 0: normal scheduling
    std::string upgrade_plugin_dir;  // "": the build's tests/upgrade-plugin

    void apply_quick() {  // --quick
        count = 4'000;
    }
};

constexpr int kTopic = 1;

enum class Stop { none, term, kill };

struct Case {
    const char* name;  // the field prefix: restart_<name>_...
    Stop stop;
    bool upgrade;
    bool persist;
};

struct Outcome {
    double sent = 0, unique = 0, duplicates = 0;
    double gap_p99_us = 0, gap_max_us = 0;
    double lost() const { return sent - unique; }
};

std::filesystem::path default_upgrade_plugin_dir() { return testkit::executable_dir().parent_path() / "tests/upgrade-plugin"; }

class RestartBench {
public:
    explicit RestartBench(const RestartOptions& o)
        : o_(o), upgrade_dir_(o.upgrade_plugin_dir.empty() ? default_upgrade_plugin_dir() : std::filesystem::path(o.upgrade_plugin_dir)) {}

    Result<Report> run() {
        install_interrupt_handler();
        if (!std::filesystem::exists(upgrade_dir_ / "libxdp_adapter.so"))
            return Status::error(ErrorCode::not_found, "no test-only plugin for the upgrade in " + upgrade_dir_.string() +
                                                           " (built with the tests: target xdp_adapter_upgrade)");
        auto net = testkit::point_to_point({});
        if (!net) return net.status();
        net_ = std::move(*net);
        if (o_.xdp_mode == "native")
            if (Status st = net_.attach_peer_pass("sub1", "eth0"); !st) return st;
        const auto sub1_mac = net_.mac("sub1", "eth0");
        if (!sub1_mac) return sub1_mac.status();
        topic_ = bench_topic(kTopic, "strict", p2p::kSub1Ip, *sub1_mac);

        Report out;
        const Result<Outcome> idle = measure({"idle", Stop::none, false, false});
        if (!idle) return idle.status().prefixed("idle");
        out.number("restart_idle_lost", idle->lost(), 0)
            .number("restart_idle_gap_p99_us", idle->gap_p99_us, 2)
            .number("restart_idle_gap_max_us", idle->gap_max_us, 2);
        for (const Case& c : {Case{"term", Stop::term, false, true}, Case{"term", Stop::term, false, false},
                              Case{"kill", Stop::kill, false, true}, Case{"kill", Stop::kill, false, false},
                              Case{"upgrade", Stop::term, true, true}, Case{"upgrade", Stop::term, true, false}}) {
            const std::string prefix = std::string("restart_") + c.name + (c.persist ? "_persist" : "_no_persist");
            const Result<Outcome> r = measure(c);
            if (!r) return r.status().prefixed(prefix);
            out.number(prefix + "_lost", r->lost(), 0)
                .number(prefix + "_dups", r->duplicates, 0)
                .number(prefix + "_gap_ms", r->gap_max_us / 1000, 3)
                .number(prefix + "_gap_vs_idle_p99", idle->gap_p99_us > 0 ? r->gap_max_us / idle->gap_p99_us : 0, 1);
        }
        out.text("restart_xdp_mode", o_.xdp_mode)
            .number("restart_rate_eps", o_.rate, 0)
            .number("restart_count", static_cast<double>(o_.count), 0)
            .number("restart_endpoint_priority", o_.endpoint_priority, 0);
        return out;
    }

private:
    Result<testkit::MomRunner> start_mom(bool persist, bool upgraded) const {
        std::vector<std::string> args;
        if (upgraded) args = {"--plugin-dir", upgrade_dir_.string()};
        return start_bench_mom(net_, o_.xdp_mode, {topic_}, -1, {{"persist", persist ? "true" : "false"}},
                               std::move(args));
    }

    // Removes what persist pinned for mom:eth0 (the router leaves with it): every case starts from nothing.
    Status release_pins() const {
        Result<testkit::Process> release = testkit::Process::start(
            {(testkit::executable_dir() / "tempos-mom").string(), "--release-pins", "eth0"}, {.netns = net_.ns("mom")});
        if (!release) return release.status();
        const Result<int> status = release->wait(std::chrono::seconds(10));
        if (!status || *status != 0)
            return measurement_error("tempos-mom --release-pins eth0 failed: " + release->output_tail());
        return Status::ok();
    }

    Result<Outcome> measure(const Case& c) {
        Result<Outcome> outcome = measure_pinned(c);
        const Status released = release_pins();  // also after a failed measurement
        if (outcome && !released) return released;
        return outcome;
    }

    Result<Outcome> measure_pinned(const Case& c) {
        Result<testkit::MomRunner> mom = start_mom(c.persist, false);
        if (!mom) return mom.status();
        const double seconds = static_cast<double>(o_.count) / o_.rate;
        // The endpoints stand for other hosts: under SCHED_FIFO the new tempos-mom's start (loading and verifying
        // its programs) cannot delay them, so the gap measured is the data plane's.
        Result<testkit::Process> sub =
            start_sub(net_, "sub1", p2p::kSub1Ip, o_.count, seconds + 20, o_.endpoint_priority);
        if (!sub) return sub.status();
        const pid_t sub_pid = sub->pid();
        const Result<std::uint64_t> in_before = testkit::udp_counter(sub_pid, "InDatagrams");
        if (!in_before) return in_before.status();
        Result<testkit::Process> pub =
            start_pub(net_, p2p::kMomIp, kTopic, o_.count, o_.rate, seconds + 10, o_.pub_cpu, o_.endpoint_priority);
        if (!pub) return pub.status();

        if (c.stop != Stop::none) {
            // Stopped once a quarter has arrived, as the e2e scenario does.
            const std::uint64_t quarter = *in_before + o_.count / 4;
            if (Status flowing = sub->wait_until(
                    [&] {
                        const Result<std::uint64_t> in = testkit::udp_counter(sub_pid, "InDatagrams");
                        return in && *in >= quarter;
                    },
                    std::chrono::milliseconds(static_cast<long>(seconds * 1000) + 5000), "a quarter of the events");
                !flowing)
                return flowing;
            if (c.stop == Stop::kill) {
                (void)mom->process().signal(SIGKILL);
                (void)mom->process().kill_and_reap();
            } else if (Status stopped = mom->stop(); !stopped) {
                return stopped.prefixed("stop");
            }
            mom = start_mom(c.persist, c.upgrade);
            if (!mom) return mom.status().prefixed("start after the stop");
        }

        const Result<int> pub_ended = pub->wait(std::chrono::milliseconds(static_cast<long>((seconds + 15) * 1000)));
        const int pub_status = pub_ended ? *pub_ended : pub->kill_and_reap();
        wait_arrived(*sub, *in_before + o_.count, std::chrono::milliseconds(200), std::chrono::seconds(5));
        const Result<nlohmann::json> report = collect_sub(*sub);
        if (Status stopped = mom->stop(); !stopped) return stopped.prefixed("final stop");
        if (pub_status != 0)
            return measurement_error("tempos-pub exited with status " + std::to_string(pub_status) + ": " + pub->errors());
        if (!report) return report.status();
        const nlohmann::json::json_pointer at("/topics/" + std::to_string(kTopic));
        if (!report->contains(at)) return measurement_error("no event arrived; tempos-sub said: " + sub->output());
        const nlohmann::json& t = (*report)[at];
        Outcome out;
        out.sent = static_cast<double>(o_.count);
        out.unique = t.value("unique", 0.0);
        out.duplicates = t.value("duplicates", 0.0);
        out.gap_p99_us = t.value("arrival_gap_p99_us", 0.0);
        out.gap_max_us = t.value("arrival_gap_max_us", 0.0);
        return out;
    }

    const RestartOptions& o_;
    const std::filesystem::path upgrade_dir_;
    testkit::Topology net_;
    testkit::ConfigTopic topic_;
};

}  // namespace

void register_restart_command(CLI::App& app, const char* name, int& exit_code) {
    auto [cmd, o] = add_subcommand<RestartOptions>(
        app, name,
        "Strict events lost and the longest delivery gap across a restart, a crash and an upgrade of tempos-mom, "
        "with and without persist",
        "Smoke run: 4000 events per case (not a measurement)", exit_code,
        [](const RestartOptions& o) { return RestartBench(o).run(); });
    cmd->add_option("--rate", o.rate, "Strict events per second")->check(CLI::Range(1.0, 1e6));
    cmd->add_option("--count", o.count, "Strict events per case")->check(CLI::Range(100, 10'000'000));
    add_xdp_mode_option(cmd, o.xdp_mode, "XDP mode of the router: native or generic");
    cmd->add_option("--pub-cpu", o.pub_cpu, "CPU of tempos-pub");
    cmd->add_option("--endpoint-priority", o.endpoint_priority,
                    "SCHED_FIFO priority of tempos-pub and tempos-sub (0: normal scheduling)")
        ->check(CLI::Range(0, 99));
    cmd->add_option("--upgrade-plugin-dir", o.upgrade_plugin_dir,
                    "The plugin directory of the upgrade (default: the build's tests/upgrade-plugin)");
}

}  // namespace tempos::bench
