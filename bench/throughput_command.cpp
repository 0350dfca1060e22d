#include <algorithm>
#include <map>

#include "bench_mom.hpp"
#include "live_traffic.hpp"

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
    bool ipv6 = true;            // then the XDP path once more with IPv6 events: the fields with _v6

    void apply_quick() { std::tie(seconds, rates_mpps) = std::pair{0.2, std::vector{0.1}}; }
    void add_options(CLI::App* cmd) {
        cmd->add_option("--rates", rates_mpps, "Paced offered loads in Mpps, below the generator's limit");
        cmd->add_option("--generators", generators,
                        "Generator threads (CPUs --cpu, --cpu+1, ...); the veths get as many queues")
            ->check(CLI::Range(1, 2));
        cmd->add_flag("--threaded-napi", threaded_napi,
                      "Run mom:eth0's receive work (XDP or stack) in a NAPI thread pinned to --mom-cpu, instead of "
                      "in the generator's softirq");
        cmd->add_flag("--ipv6,!--no-ipv6", ipv6, "Also the XDP path with IPv6 events (84-byte frames): *_v6 fields");
    }
};

}  // namespace

struct ThroughputBench : Bench<ThroughputOptions> {
    using Bench::Bench;

    Result<Report> run() {
        TEMPOS_RETURN_IF_ERROR(rig_.build(o_.cpu, {.queues = o_.generators, .ipv6 = o_.ipv6}, 1, LiveRig::Hook::xdp));
        if (o_.threaded_napi && o_.mom_cpu >= 0)
            TEMPOS_RETURN_IF_ERROR(rig_.net.pin_napi("mom", "eth0", o_.mom_cpu));
        Report out;
        std::map<std::string, double> mpps;  // each path's highest delivered rate
        for (const char* path : {"xdp", "socket", "baseline"}) {
            const Result<double> best = measure_path(path, out);
            if (!best) return best.status().prefixed(path);
            mpps[path] = *best;
        }
        if (o_.ipv6) {  // tempos-mom on [::], sub1 at its IPv6 address, the generator's frames IPv6
            TEMPOS_RETURN_IF_ERROR(rig_.set_frame(1, true));
            if (Result<double> best = measure_path("xdp", out, "_v6"); !best)
                return best.status().prefixed("xdp, IPv6");
        }
        out.number("xdp_vs_socket", mpps["socket"] > 0 ? mpps["xdp"] / mpps["socket"] : 0, 2)
            .raw("throughput_xdp_mode", o_.xdp_mode)
            .raw("throughput_generator", rig_.generator())
            .number("throughput_batch_size", LiveRig::kBatchSize, 0)
            .number("throughput_step_seconds", o_.seconds, 2)
            .number("throughput_generator_cpu", o_.cpu, 0)
            .number("throughput_mom_cpu", o_.mom_cpu, 0)
            .number("throughput_threaded_napi", o_.threaded_napi ? 1 : 0, 0)
            .number("throughput_generators", o_.generators, 0)
            .number("throughput_ipv6", o_.ipv6 ? 1 : 0, 0);
        return out;
    }

private:
    // tempos-mom in XDP mode ("xdp") or with xdp_mode off ("socket"), or the bare forwarder ("baseline"), under
    // the unpaced step (the generator's limit), then the paced ones below it: the path's fields, its best rate.
    // `v6` "_v6": IPv6 events, the fields with that suffix.
    Result<double> measure_path(const std::string& path, Report& out, const std::string& v6 = "") {
        testkit::MomRunner mom;
        testkit::Process forwarder;
        if (path == "baseline") {
            TEMPOS_ASSIGN_OR_RETURN(forwarder, start_forwarder());
        } else {
            TEMPOS_ASSIGN_OR_RETURN(mom, start_bench_mom(rig_.net, path == "xdp" ? o_.xdp_mode : "off",
                                                         {{.ipv6 = !v6.empty()}}, {.cpu = o_.mom_cpu}));
        }
        auto below_limit = [](const LiveRig::Sweep& s, double pps) { return pps < s.steps[0].sent.rate_pps() * 0.95; };
        TEMPOS_ASSIGN_OR_RETURN(auto swept, rig_.sweep(o_.seconds, o_.rates_mpps, below_limit,
                                                       path == "xdp" ? &mom : nullptr, o_.generators, o_.cpu));
        const double best = report_path(path, v6, swept, out);
        // Udp InDatagrams counts IPv4 only: no IPv6 counterpart.
        if (path == "xdp" && v6.empty())
            out.number("xdp_mom_socket_datagrams", static_cast<double>(swept.mom_socket_datagrams), 0);
        if (path != "baseline") TEMPOS_RETURN_IF_ERROR(mom.stop());
        return best;
    }

    Result<testkit::Process> start_forwarder() const {
        const std::string listen = std::string(p2p::kMomIp) + ":" + std::to_string(kMomPort);
        const std::string to = std::string(p2p::kSub1Ip) + ":" + std::to_string(kMomPort);
        // Bounded: long enough for every step of this path.
        const double lifetime = (o_.rates_mpps.size() + 2) * (o_.seconds + 0.5) + 5;
        return start_bound({(testkit::executable_dir() / "tempos-socket-forwarder").string(), "--listen", listen,
                            "--to", to, "--seconds", std::to_string(lifetime)},
                           {.netns = rig_.net.ns("mom"), .cpu = o_.mom_cpu}, kMomPort);
    }

    // The path's fields (name_..., each with suffix `v6`); its highest delivered rate.
    static double report_path(const std::string& name, const std::string& v6, const LiveRig::Sweep& sweep,
                              Report& out) {
        const LiveStep &limit = sweep.steps.front(), &best = sweep.best();
        std::vector<LiveStep> steps = sweep.steps;
        double lossless = 0;
        for (const LiveStep& s : steps)
            if (s.loss() == 0) lossless = std::max(lossless, s.delivered_per_s() / 1e6);
        std::ranges::sort(steps, {}, [](const LiveStep& s) { return s.sent.rate_pps(); });
        nlohmann::ordered_json curve = nlohmann::ordered_json::array();
        for (const LiveStep& s : steps)
            curve.push_back({round_to(s.sent.rate_pps() / 1e6, 4), round_to(s.delivered_per_s() / 1e6, 4),
                             round_to(s.loss(), 6)});
        out.number(name + "_mpps" + v6, best.delivered_per_s() / 1e6, 4)
            .number(name + "_loss" + v6, best.loss(), 6)
            .number(name + "_offered_mpps" + v6, best.sent.rate_pps() / 1e6, 4)
            .number(name + "_lossless_mpps" + v6, lossless, 4)
            .number(name + "_generator_limit_mpps" + v6, limit.sent.rate_pps() / 1e6, 4)
            .raw(name + "_curve" + v6, std::move(curve));
        return best.delivered_per_s() / 1e6;
    }

    LiveRig rig_;
};

void register_throughput_command(CLI::App& app, int& exit_code) {
    add_bench<ThroughputBench>(app, "throughput", exit_code);
}

}  // namespace tempos::bench
