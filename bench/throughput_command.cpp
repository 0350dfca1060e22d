#include "commands.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

#include "bench_mom.hpp"
#include "live_traffic.hpp"
#include "round_to.hpp"
#include "subcommand.hpp"
#include "topology/layouts.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

namespace {

namespace p2p = testkit::world::point_to_point;
using tools::round_to;

struct ThroughputOptions : CommonOptions {
    double seconds = 0.5;  // per offered-load step
    std::string xdp_mode = "native";
    std::vector<double> rates_mpps{0.05, 0.1, 0.2, 0.5, 1, 2, 3, 4, 5, 6, 8};
    int cpu = 0;       // the first generator thread's CPU
    int mom_cpu = -1;  // >= 0: tempos-mom and the forwarder pinned there
    bool threaded_napi = false;  // mom:eth0's receive work in a NAPI thread pinned to mom_cpu
    int generators = 2;  // generator threads, on CPUs cpu, cpu+1, ...; veths get as many queues

    void apply_quick() {  // --quick
        seconds = 0.2;
        rates_mpps = {0.1};
    }
};

struct Step {
    double offered_mpps = 0, delivered_mpps = 0, loss = 0;
    std::uint64_t offered = 0, delivered = 0;
};

struct PathResult {
    std::vector<Step> steps;  // the unpaced step (the generator's limit) first
    std::uint64_t mom_socket_datagrams = 0;
};

// What a path under test is: started before its steps, stopped after.
struct Path {
    const char* name;
    std::function<Status()> start;
    std::function<Status()> stop;
};

class ThroughputBench {
public:
    explicit ThroughputBench(const ThroughputOptions& o) : o_(o) {}

    Result<Report> run() {
        install_interrupt_handler();
        if (Status st = setup(); !st) return st;
        testkit::MomRunner mom;
        testkit::Process forwarder;
        const auto sub1_mac = rig_.net.mac("sub1", "eth0");
        if (!sub1_mac) return measurement_error(sub1_mac.message());
        const std::vector mom_topics{bench_topic(1, "strict", p2p::kSub1Ip, *sub1_mac)};
        auto start_mom = [&](const std::string& mode) {
            Result<testkit::MomRunner> started = start_bench_mom(rig_.net, mode, mom_topics, o_.mom_cpu);
            if (started) mom = std::move(*started);
            return started.status();
        };
        std::vector<Path> paths{
            {"xdp", [&] { return start_mom(o_.xdp_mode); }, [&] { return mom.stop(); }},
            {"socket", [&] { return start_mom("off"); }, [&] { return mom.stop(); }},
            {"baseline", [&] { return start_forwarder(forwarder); },
             [&] {
                 (void)forwarder.wait(std::chrono::milliseconds(static_cast<long>((o_.seconds * 20 + 10) * 1000)));
                 forwarder.kill_and_reap();
                 return Status::ok();
             }},
        };
        std::vector<std::pair<std::string, PathResult>> results;
        for (Path& p : paths) {
            Result<PathResult> r = measure_path(p, mom);
            if (!r) return r.status().prefixed(p.name);
            results.emplace_back(p.name, std::move(*r));
        }
        return report(results);
    }

private:
    Status setup() {
        if (Status st = testkit::pin_to_cpu(o_.cpu); !st) return st;
        auto net = testkit::point_to_point({.queues = o_.generators});
        if (!net) return net.status();
        rig_.net = std::move(*net);
        if (o_.threaded_napi && o_.mom_cpu >= 0)
            if (Status st = rig_.net.pin_napi("mom", "eth0", o_.mom_cpu); !st) return st;
        return rig_.open(1, SinkCounter::Hook::xdp);
    }

    Result<PathResult> measure_path(Path& p, const testkit::MomRunner& mom) {
        if (Status st = p.start(); !st) return st;
        // The warm-up resolves neighbours, faults pages in, lets the MoM finish its set-up; not reported.
        if (Result<Step> warm = step(20'000, 0.2); !warm) return warm.status();
        const bool xdp = std::string(p.name) == "xdp";
        const Result<std::uint64_t> socket_before = xdp ? mom.udp_in_datagrams() : Result<std::uint64_t>(0);
        if (!socket_before) return socket_before.status();
        Result<PathResult> r = measure();
        if (!r) return r;
        if (xdp) {
            const Result<std::uint64_t> socket_after = mom.udp_in_datagrams();
            if (!socket_after) return socket_after.status();
            r->mom_socket_datagrams = *socket_after - *socket_before;
        }
        if (Status st = p.stop(); !st) return st;
        return r;
    }

    Status start_forwarder(testkit::Process& forwarder) {
        const std::string listen = std::string(p2p::kMomIp) + ":" + std::to_string(kMomPort);
        const std::string to = std::string(p2p::kSub1Ip) + ":" + std::to_string(kMomPort);
        // Bounded: long enough for every step of this path.
        const double lifetime = (o_.rates_mpps.size() + 2) * (o_.seconds + 0.5) + 5;
        Result<testkit::Process> started = testkit::Process::start(
            {(testkit::executable_dir() / "tempos-socket-forwarder").string(), "--listen", listen, "--to", to,
             "--seconds", std::to_string(lifetime)},
            {.netns = rig_.net.ns("mom"), .cpu = o_.mom_cpu});
        if (!started) return started.status();
        forwarder = std::move(*started);
        const pid_t pid = forwarder.pid();
        return forwarder.wait_until([&] { return testkit::udp_port_bound(pid, kMomPort); }, std::chrono::seconds(5),
                                    "UDP port " + std::to_string(kMomPort) + " bound");
    }

    Result<Step> step(double rate_pps, double seconds) const {
        const Result<LiveStep> live = rig_.step(rate_pps, seconds, o_.generators, o_.cpu);
        if (!live) return live.status();
        Step s;
        s.offered = live->sent.frames;
        s.delivered = live->delivered;
        s.offered_mpps = live->sent.rate_pps() / 1e6;
        s.delivered_mpps = live->delivered_per_s() / 1e6;
        s.loss = s.offered > 0 && s.delivered < s.offered
                     ? static_cast<double>(s.offered - s.delivered) / static_cast<double>(s.offered)
                     : 0;
        return s;
    }

    Result<PathResult> measure() const {
        PathResult r;
        const Result<Step> limit = step(0, o_.seconds);
        if (!limit) return limit.status();
        r.steps.push_back(*limit);
        for (const double mpps : o_.rates_mpps) {
            if (mpps >= limit->offered_mpps * 0.95) break;
            const Result<Step> s = step(mpps * 1e6, o_.seconds);
            if (!s) return s.status();
            r.steps.push_back(*s);
        }
        return r;
    }

    Report report(const std::vector<std::pair<std::string, PathResult>>& results) const {
        Report out;
        double xdp_mpps = 0, socket_mpps = 0;
        for (const auto& [name, r] : results) {
            const Step* best = &r.steps.front();
            double lossless = 0;
            for (const Step& s : r.steps) {
                if (s.delivered_mpps > best->delivered_mpps) best = &s;
                if (s.loss == 0) lossless = std::max(lossless, s.delivered_mpps);
            }
            std::vector<Step> sorted = r.steps;
            std::sort(sorted.begin(), sorted.end(),
                      [](const Step& a, const Step& b) { return a.offered_mpps < b.offered_mpps; });
            nlohmann::ordered_json curve = nlohmann::ordered_json::array();
            for (const Step& s : sorted)
                curve.push_back({round_to(s.offered_mpps, 4), round_to(s.delivered_mpps, 4), round_to(s.loss, 6)});
            out.number(name + "_mpps", best->delivered_mpps, 4)
                .number(name + "_loss", best->loss, 6)
                .number(name + "_offered_mpps", best->offered_mpps, 4)
                .number(name + "_lossless_mpps", lossless, 4)
                .number(name + "_generator_limit_mpps", r.steps.front().offered_mpps, 4)
                .raw(name + "_curve", std::move(curve));
            if (name == "xdp") {
                xdp_mpps = best->delivered_mpps;
                out.number("xdp_mom_socket_datagrams", static_cast<double>(r.mom_socket_datagrams), 0);
            }
            if (name == "socket") socket_mpps = best->delivered_mpps;
        }
        out.number("xdp_vs_socket", socket_mpps > 0 ? xdp_mpps / socket_mpps : 0, 2)
            .text("throughput_xdp_mode", o_.xdp_mode)
            .number("throughput_batch_size", LiveGenerator::kBatchSize, 0)
            .number("throughput_step_seconds", o_.seconds, 2)
            .number("throughput_generator_cpu", o_.cpu, 0)
            .number("throughput_mom_cpu", o_.mom_cpu, 0)
            .number("throughput_threaded_napi", o_.threaded_napi ? 1 : 0, 0)
            .number("throughput_generators", o_.generators, 0);
        return out;
    }

    const ThroughputOptions& o_;
    LiveRig rig_;
};

}  // namespace

void register_throughput_command(CLI::App& app, const char* name, int& exit_code) {
    auto [cmd, o] = add_subcommand<ThroughputOptions>(
        app, name, "Delivered Mpps and loss: XDP strict path vs the MoM's socket path vs a bare recvmmsg forwarder",
        "Smoke run: 0.2 s steps, one paced rate (not a measurement)", exit_code,
        [](const ThroughputOptions& o) { return ThroughputBench(o).run(); });
    add_seconds_option(cmd, o.seconds, "Length of each offered-load step", 0.05, 30.0);
    add_xdp_mode_option(cmd, o.xdp_mode, "XDP mode of the router: native or generic");
    cmd->add_option("--rates", o.rates_mpps, "Paced offered loads in Mpps, below the generator's limit");
    cmd->add_option("--cpu", o.cpu, "CPU the generator runs on");
    cmd->add_option("--mom-cpu", o.mom_cpu, "CPU of tempos-mom and the forwarder; -1: not pinned");
    cmd->add_option("--generators", o.generators,
                    "Generator threads (CPUs --cpu, --cpu+1, ...); the veths get as many queues")
        ->check(CLI::Range(1, 2));
    cmd->add_flag("--threaded-napi", o.threaded_napi,
                  "Run mom:eth0's receive work (XDP or stack) in a NAPI thread pinned to --mom-cpu, instead of in "
                  "the generator's softirq");
}

}  // namespace tempos::bench
