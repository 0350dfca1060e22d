// tempos-bench restart: what a restart (SIGTERM), a crash (SIGKILL) and an upgrade (the test-only plugin with a
// rebuilt router object, tests/e2e/upgrade) of tempos-mom cost a strict stream, with and without persist, beside the
// same stream without a restart (issue 14). Method: docs/restart.md, "Measured".
#include <filesystem>
#include <string>
#include <vector>

#include "bench_mom.hpp"
#include "topology/layouts.hpp"

namespace tempos::bench {

namespace {

struct RestartOptions : CommonOptions {
    double rate = 10'000;  // strict events per second
    std::uint64_t count = 20'000;
    std::string xdp_mode = "native";
    int endpoint_priority = 50;  // SCHED_FIFO of tempos-pub/-sub, as in latency; 0: normal scheduling
    std::string upgrade_plugin_dir = (testkit::executable_dir().parent_path() / "tests/upgrade-plugin").string();

    void apply_quick() { count = 4'000; }
    void add_options(CLI::App* cmd) {
        cmd->add_option("--count", count, "Strict events per case")->check(CLI::Range(100, 10'000'000));
        cmd->add_option("--upgrade-plugin-dir", upgrade_plugin_dir, "The plugin directory of the upgrade");
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

}  // namespace

struct RestartBench : Bench<RestartOptions> {
    using Bench::Bench;

    Result<Report> run() {
        if (!std::filesystem::exists(std::filesystem::path(o_.upgrade_plugin_dir) / "libxdp_adapter.so"))
            return Status::error(ErrorCode::not_found, "no test-only plugin for the upgrade in " +
                                                           o_.upgrade_plugin_dir +
                                                           " (built with the tests: target xdp_adapter_upgrade)");
        TEMPOS_ASSIGN_OR_RETURN(net_, testkit::point_to_point({}));
        if (o_.xdp_mode == "native") TEMPOS_RETURN_IF_ERROR(net_.attach_peer_pass("sub1", "eth0"));

        Report out;
        const Result<StreamResult> idle = measure({"idle", Stop::none, false, false});
        if (!idle) return idle.status().prefixed("idle");
        out.number("restart_idle_lost", idle->lost(), 0)
            .number("restart_idle_gap_p99_us", idle->gap_p99_us, 2)
            .number("restart_idle_gap_max_us", idle->gap_max_us, 2);
        for (const Case& c : {Case{"term", Stop::term, false, true}, Case{"term", Stop::term, false, false},
                              Case{"kill", Stop::kill, false, true}, Case{"kill", Stop::kill, false, false},
                              Case{"upgrade", Stop::term, true, true}, Case{"upgrade", Stop::term, true, false}}) {
            const std::string prefix = std::string("restart_") + c.name + (c.persist ? "_persist" : "_no_persist");
            const Result<StreamResult> r = measure(c);
            if (!r) return r.status().prefixed(prefix);
            out.number(prefix + "_lost", r->lost(), 0)
                .number(prefix + "_dups", r->duplicates, 0)
                .number(prefix + "_gap_ms", r->gap_max_us / 1000, 3)
                .number(prefix + "_gap_vs_idle_p99", idle->gap_p99_us > 0 ? r->gap_max_us / idle->gap_p99_us : 0, 1);
        }
        out.raw("restart_xdp_mode", o_.xdp_mode)
            .number("restart_rate_eps", o_.rate, 0)
            .number("restart_count", static_cast<double>(o_.count), 0)
            .number("restart_endpoint_priority", o_.endpoint_priority, 0);
        return out;
    }

private:
    Result<testkit::MomRunner> start_mom(bool persist, bool upgraded) const {
        std::vector<std::string> args;
        if (upgraded) args = {"--plugin-dir", o_.upgrade_plugin_dir};
        return start_bench_mom(net_, o_.xdp_mode, {{kTopic}},
                               {.adapter_options = {{"persist", persist ? "true" : "false"}}, .args = args});
    }

    Result<StreamResult> measure(const Case& c) {
        Result<StreamResult> outcome = measure_pinned(c);
        // Removes what persist pinned for mom:eth0 (the router leaves with it), also after a failed measurement:
        // every case starts from nothing.
        const Result<std::string> released =
            net_.exec("mom", {(testkit::executable_dir() / "tempos-mom").string(), "--release-pins", "eth0"});
        if (outcome && !released) return released.status();
        return outcome;
    }

    Result<StreamResult> measure_pinned(const Case& c) {
        Result<testkit::MomRunner> mom = start_mom(c.persist, false);
        if (!mom) return mom.status();
        // The endpoints stand for other hosts: under SCHED_FIFO the new tempos-mom's start (loading and verifying
        // its programs) cannot delay them, so the gap measured is the data plane's.
        const Stream stream{p2p::kMomIp, p2p::kSub1Ip, kTopic, o_.count, o_.rate, o_.endpoint_priority};
        Result<StreamResult> r = run_stream(net_, stream, [&](testkit::Process& sub, std::uint64_t in_before) {
            if (c.stop == Stop::none) return Status::ok();
            // Stopped once a quarter has arrived, as the e2e scenario does.
            const pid_t sub_pid = sub.pid();
            if (Status flowing = sub.wait_until(
                    [&] {
                        const Result<std::uint64_t> in = testkit::udp_counter(sub_pid, "InDatagrams");
                        return in && *in >= in_before + o_.count / 4;
                    },
                    milliseconds(static_cast<double>(o_.count) / o_.rate + 5), "a quarter of the events");
                !flowing)
                return flowing;
            if (c.stop == Stop::kill) {
                (void)mom->process().kill_and_reap();  // SIGKILL
            } else if (Status stopped = mom->stop(); !stopped) {
                return stopped.prefixed("stop");
            }
            mom = start_mom(c.persist, c.upgrade);
            return mom.status().prefixed("start after the stop");
        });
        if (Status stopped = mom ? mom->stop() : Status::ok(); !stopped) return stopped.prefixed("final stop");
        return r;
    }

    testkit::Topology net_;
};

void register_restart_command(CLI::App& app, int& exit_code) { add_bench<RestartBench>(app, "restart", exit_code); }

}  // namespace tempos::bench
