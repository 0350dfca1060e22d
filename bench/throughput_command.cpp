#include <algorithm>
#include <chrono>
#include <map>

#include "bench_mom.hpp"
#include "live_traffic.hpp"
#include "subcommand.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

namespace {

struct ThroughputOptions : CommonOptions {
    double seconds = 0.5;  // per offered-load step
    std::string xdp_mode = "native";
    std::vector<double> rates_mpps{0.05, 0.1, 0.2, 0.5, 1, 2, 3, 4, 5, 6, 8};
    int cpu = 0;                 // the first generator thread's CPU
    int mom_cpu = -1;            // >= 0: tempos-mom and the forwarder pinned there
    bool threaded_napi = false;  // mom:eth0's receive work in a NAPI thread pinned to mom_cpu
    int generators = 2;          // generator threads, on CPUs cpu, cpu+1, ...; veths get as many queues

    void apply_quick() { std::tie(seconds, rates_mpps) = std::pair{0.2, std::vector{0.1}}; }
    void add_options(CLI::App* cmd) {
        cmd->add_option("--rates", rates_mpps, "Paced offered loads in Mpps, below the generator's limit");
        cmd->add_option("--generators", generators,
                        "Generator threads (CPUs --cpu, --cpu+1, ...); the veths get as many queues")
            ->check(CLI::Range(1, 2));
        cmd->add_flag("--threaded-napi", threaded_napi,
                      "Run mom:eth0's receive work (XDP or stack) in a NAPI thread pinned to --mom-cpu, instead of "
                      "in the generator's softirq");
    }
};

struct Step {
    double offered_mpps = 0, delivered_mpps = 0, loss = 0;
};

}  // namespace

struct ThroughputBench : Bench<ThroughputOptions> {
    using Bench::Bench;

    Result<Report> run() {
        if (Status st = rig_.build(o_.cpu, {.queues = o_.generators}, 1, LiveRig::Hook::xdp); !st) return st;
        if (o_.threaded_napi && o_.mom_cpu >= 0)
            if (Status st = rig_.net.pin_napi("mom", "eth0", o_.mom_cpu); !st) return st;
        Report out;
        std::map<std::string, double> mpps;  // each path's highest delivered rate
        for (const char* path : {"xdp", "socket", "baseline"}) {
            Result<double> best = measure_path(path, out);
            if (!best) return best.status().prefixed(path);
            mpps[path] = *best;
        }
        out.number("xdp_vs_socket", mpps["socket"] > 0 ? mpps["xdp"] / mpps["socket"] : 0, 2)
            .raw("throughput_xdp_mode", o_.xdp_mode)
            .number("throughput_batch_size", LiveRig::kBatchSize, 0)
            .number("throughput_step_seconds", o_.seconds, 2)
            .number("throughput_generator_cpu", o_.cpu, 0)
            .number("throughput_mom_cpu", o_.mom_cpu, 0)
            .number("throughput_threaded_napi", o_.threaded_napi ? 1 : 0, 0)
            .number("throughput_generators", o_.generators, 0);
        return out;
    }

private:
    // tempos-mom in XDP mode ("xdp") or with xdp_mode off ("socket"), or the bare forwarder ("baseline"), under
    // the unpaced step (the generator's limit), then the paced ones below it: the path's fields, its best rate.
    Result<double> measure_path(const std::string& path, Report& out) {
        testkit::MomRunner mom;
        testkit::Process forwarder;
        if (path == "baseline") {
            if (Status st = start_forwarder(forwarder); !st) return st;
        } else {
            Result<testkit::MomRunner> started =
                start_bench_mom(rig_.net, path == "xdp" ? o_.xdp_mode : "off", {{1}}, {.cpu = o_.mom_cpu});
            if (!started) return started.status();
            mom = std::move(*started);
        }
        // The warm-up resolves neighbours, faults pages in, lets the MoM finish its set-up; not reported.
        if (Result<Step> warm = step(20'000, 0.2); !warm) return warm.status();
        const Result<std::uint64_t> socket_before = path == "xdp" ? mom.udp_in_datagrams() : Result<std::uint64_t>(0);
        if (!socket_before) return socket_before.status();
        std::vector<Step> steps;
        const Result<Step> limit = step(0, o_.seconds);
        if (!limit) return limit.status();
        steps.push_back(*limit);
        for (const double mpps : o_.rates_mpps) {
            if (mpps >= limit->offered_mpps * 0.95) break;
            const Result<Step> s = step(mpps * 1e6, o_.seconds);
            if (!s) return s.status();
            steps.push_back(*s);
        }
        const double best = report_path(path, steps, out);
        if (path == "xdp") {
            const Result<std::uint64_t> socket_after = mom.udp_in_datagrams();
            if (!socket_after) return socket_after.status();
            out.number("xdp_mom_socket_datagrams", static_cast<double>(*socket_after - *socket_before), 0);
        }
        if (path != "baseline")
            if (Status st = mom.stop(); !st) return st;
        return best;
    }

    Status start_forwarder(testkit::Process& forwarder) {
        const std::string listen = std::string(p2p::kMomIp) + ":" + std::to_string(kMomPort);
        const std::string to = std::string(p2p::kSub1Ip) + ":" + std::to_string(kMomPort);
        // Bounded: long enough for every step of this path.
        const double lifetime = (o_.rates_mpps.size() + 2) * (o_.seconds + 0.5) + 5;
        Result<testkit::Process> started =
            start_bound({(testkit::executable_dir() / "tempos-socket-forwarder").string(), "--listen", listen, "--to",
                         to, "--seconds", std::to_string(lifetime)},
                        {.netns = rig_.net.ns("mom"), .cpu = o_.mom_cpu}, kMomPort);
        if (started) forwarder = std::move(*started);
        return started.status();
    }

    Result<Step> step(double rate_pps, double seconds) const {
        const Result<LiveStep> live = rig_.step(rate_pps, seconds, o_.generators, o_.cpu);
        if (!live) return live.status();
        const std::uint64_t offered = live->sent.frames, delivered = live->delivered;
        const double lost = offered > delivered ? static_cast<double>(offered - delivered) : 0;
        return Step{live->sent.rate_pps() / 1e6, live->delivered_per_s() / 1e6,
                    offered > 0 ? lost / static_cast<double>(offered) : 0};
    }

    // The path's fields; its highest delivered rate.
    static double report_path(const std::string& name, std::vector<Step> steps, Report& out) {
        const Step limit = steps.front(), best = *std::max_element(steps.begin(), steps.end(), [](auto&a, auto&b) {
                                              return a.delivered_mpps < b.delivered_mpps;
                                          });
        double lossless = 0;
        for (const Step& s : steps)
            if (s.loss == 0) lossless = std::max(lossless, s.delivered_mpps);
        std::sort(steps.begin(), steps.end(),
                  [](const Step& a, const Step& b) { return a.offered_mpps < b.offered_mpps; });
        nlohmann::ordered_json curve = nlohmann::ordered_json::array();
        for (const Step& s : steps)
            curve.push_back({round_to(s.offered_mpps, 4), round_to(s.delivered_mpps, 4), round_to(s.loss, 6)});
        out.number(name + "_mpps", best.delivered_mpps, 4)
            .number(name + "_loss", best.loss, 6)
            .number(name + "_offered_mpps", best.offered_mpps, 4)
            .number(name + "_lossless_mpps", lossless, 4)
            .number(name + "_generator_limit_mpps", limit.offered_mpps, 4)
            .raw(name + "_curve", std::move(curve));
        return best.delivered_mpps;
    }

    LiveRig rig_;
};

void register_throughput_command(CLI::App& app, int& exit_code) {
    add_bench<ThroughputBench>(app, "throughput", exit_code);
}

}  // namespace tempos::bench
