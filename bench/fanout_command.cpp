#include "commands.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <optional>
#include <thread>

#include "frames/frame_world.hpp"
#include "live_traffic.hpp"
#include "bench_mom.hpp"
#include "fanout_table.hpp"
#include "skeleton.hpp"
#include "subcommand.hpp"
#include "tempos_fanout.skel.h"
#include "test_run_timer.hpp"
#include "topology/layouts.hpp"
#include "topology/netns.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

namespace {

constexpr std::uint8_t kBenchTopic = 1;  // the fanned-out strict topic
namespace p2p = testkit::world::point_to_point;

struct FanoutOptions : CommonOptions {
    double seconds = 1.0;  // per offered-load step
    // Paced offered loads in M events/s, tried in increasing order below the generator's limit.
    std::vector<double> rates_mevps{0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3};
    std::vector<int> groups{1, 2, 4, 8};
    std::string xdp_mode = "native";
    int cpu = 0;      // the generator's
    int mom_cpu = 1;  // everything of the MoM node: tempos-mom and mom:eth0's receive work (threaded NAPI)
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The TC fan-out program's own cost per event under BPF_PROG_TEST_RUN, in the MoM's namespace: the skb enters
// as if received on mom:eth0 and the clones really leave, to a discarding device (a veth whose peer is down: it
// frees each frame on transmit and counts it as a tx drop; this kernel has no dummy driver), so the cost is the
// MoM's alone; the last group's copy, the original redirected, is rewritten but not transmitted by a test run.
// Same method as tempos-bench prog (test_run_timer.hpp).
class ProgramCost {
public:
    ~ProgramCost() {
        if (skel_) tempos_fanout__destroy(skel_);
    }

    std::string open(const testkit::Topology& net) {
        testkit::NetnsScope in_mom(net.ns("mom"));
        if (!in_mom.status()) return in_mom.status().message();
        if (Status st = testkit::add_veth_pair({.a = "fo_dummy", .b = "fo_dummy_peer", .b_up = false}); !st)
            return "creating the discarding device in the MoM's namespace: " + st.message();
        skel_ = tempos_fanout__open();
        if (!skel_) return std::string("opening the fan-out program: ") + std::strerror(errno);
        tempos::xdp::set_mom_constants(*skel_, kMomPort, kMomIp4);
        if (int err = tempos_fanout__load(skel_); err != 0)
            return std::string("loading the fan-out program: ") + std::strerror(-err);
        table_.emplace(bpf_map__fd(skel_->maps.fanout_routes), bpf_map__fd(skel_->maps.fanout_group_counters),
                       bpf_map__fd(skel_->maps.fanout_topic_counters));
        ingress_ = if_nametoindex("eth0");
        egress_ = if_nametoindex("fo_dummy");
        const auto sub_mac = net.mac("sub1", "eth0"), egress_mac = net.mac("mom", "eth1");
        if (!sub_mac || !egress_mac) return sub_mac ? egress_mac.message() : sub_mac.message();
        std::memcpy(member_.mac, sub_mac->data(), 6);
        std::memcpy(member_.src_mac, egress_mac->data(), 6);
        const auto sub_ip = testkit::world::ipv4_bytes(p2p::kSub1Ip);
        std::memcpy(&member_.ipv4, sub_ip.data(), 4);
        member_.port = htons(kMomPort);
        member_.flags = TEMPOS_EP_HAS_MAC;
        member_.ifindex = egress_;
        return ingress_ && egress_ ? std::string() : "mom:eth0 or the egress device not found";
    }

    // Frames the discarding device dropped on transmit (/proc/thread-self/net/dev in the MoM's namespace).
    std::uint64_t dummy_tx(const testkit::Topology& net) const {
        testkit::NetnsScope in_mom(net.ns("mom"));
        std::istringstream dev(slurp("/proc/thread-self/net/dev"));
        std::string line;
        while (std::getline(dev, line)) {
            const auto colon = line.find(':');
            if (colon == std::string::npos || line.substr(0, colon).find("fo_dummy") == std::string::npos ||
                line.substr(0, colon).find("peer") != std::string::npos)
                continue;
            std::istringstream fields(line.substr(colon + 1));
            std::uint64_t v[12] = {};
            for (std::uint64_t& x : v) fields >> x;
            return v[11];  // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop
        }
        return 0;
    }

    // ns per event with `groups` copies (0: the topic is not fanned out, the frame passes), or an error.
    std::string time_event(const testkit::Topology& net, const std::vector<std::uint8_t>& frame, int groups,
                           std::uint32_t pairs, double& ns) {
        std::vector<tempos_route> routes(static_cast<std::size_t>(groups));
        for (tempos_route& r : routes) {
            r.count = 1;
            r.subs[0] = member_;
        }
        if (tempos::Status set = groups > 0 ? table_->set(kBenchTopic, routes) : table_->remove(kBenchTopic); !set)
            return set.message();
        testkit::NetnsScope in_mom(net.ns("mom"));
        if (!in_mom.status()) return in_mom.status().message();
        __sk_buff ctx{};
        ctx.ifindex = ingress_;
        const Result<double> per_run =
            time_per_run_ns(bpf_program__fd(skel_->progs.tempos_fanout), frame, {pairs * kBatch, kBatch},
                            {reinterpret_cast<const std::uint8_t*>(&ctx), sizeof(ctx)});
        if (!per_run) return per_run.message();
        ns = *per_run;
        return {};
    }

    static constexpr std::uint32_t kBatch = 100;  // runs per call; each pair of calls sends kBatch + 1 events

private:
    static constexpr std::array<std::uint8_t, 4> kMomIp4 = testkit::world::ipv4_bytes(p2p::kMomIp);

    tempos_fanout* skel_ = nullptr;
    std::optional<tempos::xdp::FanoutTable> table_;
    tempos_endpoint member_{};
    std::uint32_t ingress_ = 0, egress_ = 0;
};

struct Measurement {
    double events_offered_per_s = 0;
    double copies_per_s = 0;  // the best step's
    std::uint64_t mom_socket_datagrams = 0;
};

class FanoutBench {
public:
    explicit FanoutBench(const FanoutOptions& o) : o_(o) {}

    Result<Report> run() {
        if (std::string err = setup(); !err.empty()) return measurement_error(err);
        Report out;
        if (std::string err = program_cost(out); !err.empty()) return measurement_error("program cost: " + err);
        std::vector<std::pair<int, Measurement>> kernel_runs;
        for (const int groups : o_.groups) {
            Measurement kernel, socket;
            if (std::string err = measure(o_.xdp_mode, groups, kernel); !err.empty())
                return measurement_error("kernel, " + std::to_string(groups) + " groups: " + err);
            if (std::string err = measure("off", groups, socket); !err.empty())
                return measurement_error("socket, " + std::to_string(groups) + " groups: " + err);
            kernel_runs.emplace_back(groups, kernel);
            const std::string g = "fanout" + std::to_string(groups);
            out.number(g + "_kernel_mcps", kernel.copies_per_s / 1e6, 4)
                .number(g + "_socket_mcps", socket.copies_per_s / 1e6, 4)
                .number(g + "_speedup", socket.copies_per_s > 0 ? kernel.copies_per_s / socket.copies_per_s : 0, 2)
                .number(g + "_kernel_mom_socket_datagrams", static_cast<double>(kernel.mom_socket_datagrams), 0);
        }
        // The MoM's CPU is saturated, so 1 / event rate is the CPU time of one event with G copies. Between the
        // smallest and the largest G >= 2 measured, the difference per added copy is the marginal cost of a copy
        // (clone, rewrite, transmit, and the copy's receive at the veth peer, which runs on the same CPU).
        const Measurement* low = nullptr;
        const Measurement* high = nullptr;
        int low_g = 0, high_g = 0;
        for (const auto& [g, m] : kernel_runs) {
            if (g < 2 || m.copies_per_s <= 0) continue;
            if (!low || g < low_g) low = &m, low_g = g;
            if (!high || g > high_g) high = &m, high_g = g;
        }
        if (low && high && high_g > low_g) {
            const double ns_low = 1e9 * low_g / low->copies_per_s, ns_high = 1e9 * high_g / high->copies_per_s;
            out.number("fanout_kernel_ns_per_copy", (ns_high - ns_low) / (high_g - low_g), 1);
        }
        out.text("fanout_xdp_mode", o_.xdp_mode)
            .number("fanout_seconds", o_.seconds, 2)
            .number("fanout_generator_cpu", o_.cpu, 0)
            .number("fanout_mom_cpu", o_.mom_cpu, 0);
        return out;
    }

private:

    // The program alone (test runs), G = 2..16: ns per event, and a least-squares slope per added copy.
    std::string program_cost(Report& out) {
        ProgramCost cost;
        if (std::string err = cost.open(rig_.net); !err.empty()) return err;
        const std::uint32_t pairs = o_.quick ? 20 : 300;
        std::vector<std::pair<int, double>> points;
        for (const int groups : {2, 4, 8, 16}) {
            double ns = 0;
            const std::uint64_t before = cost.dummy_tx(rig_.net);
            if (std::string err = cost.time_event(rig_.net, rig_.frame, groups, pairs, ns); !err.empty()) return err;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            // Every run sent its clones: (batch + 1) runs per pair, groups - 1 clones each (the last group's copy is
            // the original, redirected; a test run reports the verdict but does not perform the redirect).
            const std::uint64_t copies = cost.dummy_tx(rig_.net) - before,
                                want = std::uint64_t{pairs} * (ProgramCost::kBatch + 1) * (groups - 1);
            if (copies != want)
                return "the test runs sent " + std::to_string(copies) + " copies, expected " + std::to_string(want);
            out.number("fanout_prog_ns_per_event_g" + std::to_string(groups), ns, 1);
            points.emplace_back(groups, ns);
        }
        // Least squares over the points: ns = fixed + per_copy * G.
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (const auto& [g, ns] : points) sx += g, sy += ns, sxx += double(g) * g, sxy += g * ns;
        const double n = static_cast<double>(points.size());
        const double per_copy = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        // What every other frame the XDP router passes up pays for the TC program being there.
        double pass_ns = 0;
        if (std::string err = cost.time_event(rig_.net, rig_.frame, 0, pairs, pass_ns); !err.empty()) return err;
        out.number("fanout_prog_ns_per_copy", per_copy, 1)
            .number("fanout_prog_ns_fixed", (sy - per_copy * sx) / n, 1)
            .number("fanout_prog_ns_not_fanout", pass_ns, 1);
        return {};
    }

    std::string setup() {
        if (std::string err = pin_to_cpu(o_.cpu); !err.empty()) return err;
        auto net = testkit::point_to_point({});
        if (!net) return net.message();
        rig_.net = std::move(*net);
        // Both paths get the same budget: one CPU for everything the MoM node does.
        if (Status st = rig_.net.pin_napi("mom", "eth0", o_.mom_cpu); !st) return st.message();
        if (std::string err = rig_.open(kBenchTopic, SinkCounter::Hook::tc_ingress); !err.empty()) return err;
        // sub1's receive runs on the generator's CPU, not the MoM's (the subscribers are other machines in a
        // deployment): GRO off, so the veth hands what it receives to a backlog (1000 deep) instead of its
        // 256-entry ring, which one receive poll of the MoM (64 events) times G >= 4 copies overflows, and RPS
        // steers that backlog to the generator's CPU. G = 1 turns GRO back on (set_sub_gro).
        if (!rig_.net.exec("sub1", {"sh", "-c", "echo " + std::to_string(1 << o_.cpu) +
                                                " > /sys/class/net/eth0/queues/rx-0/rps_cpus"}))
            return "steering sub1:eth0's receive (RPS) to CPU " + std::to_string(o_.cpu);
        return {};
    }

    // One step of the generator at `rate` events/s (0: unpaced); copies counted at sub1.
    std::string generate(double rate, double seconds, Measurement& m) {
        const std::uint64_t before = rig_.counter.total();
        std::string error;
        GeneratorRun run;
        {
            testkit::NetnsScope in_pub(rig_.net.ns("pub"));
            if (!in_pub.status()) return in_pub.status().message();
            run = rig_.generator.run(rig_.pub_ifindex, rig_.frame, rate, seconds, error);
        }
        if (!error.empty()) return error;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // drain queues before counting
        m.events_offered_per_s = run.rate_pps();
        m.copies_per_s = run.seconds > 0 ? static_cast<double>(rig_.counter.total() - before) / run.seconds : 0;
        return {};
    }

    // Delivered copies per second: the best of an unpaced step (overload; user space can starve there) and paced
    // steps below the generator's limit.
    // GRO at sub1:eth0: needed for G = 1, where the XDP router redirects into the veth (a veth accepts redirected
    // frames only with GRO or XDP on the peer); off for G >= 2 (see setup). Both paths of one G alike.
    std::string set_sub_gro(bool on) {
        const Status st = rig_.net.set_gro("sub1", "eth0", on);
        return st ? std::string() : st.message();
    }

    std::string measure(const std::string& mode, int groups, Measurement& m) {
        if (std::string err = set_sub_gro(groups == 1); !err.empty()) return err;
        // One strict topic whose G groups all hold sub1 (the same endpoint in several groups is allowed and gets
        // one copy per group), so one counter at sub1 sees every copy of both paths.
        const auto sub1_mac = rig_.net.mac("sub1", "eth0");
        if (!sub1_mac) return sub1_mac.message();
        Result<testkit::MomRunner> mom = start_bench_mom(
            rig_.net, mode, {bench_topic(kBenchTopic, "strict", p2p::kSub1Ip, *sub1_mac, groups)}, o_.mom_cpu);
        if (!mom) return mom.message();
        Measurement step;  // the warm-up resolves neighbours and faults pages in; not reported
        if (std::string err = generate(20'000, 0.2, step); !err.empty()) return err;
        const Result<std::uint64_t> socket_before = mom->udp_in_datagrams();
        if (!socket_before) return socket_before.message();
        if (std::string err = generate(0, o_.seconds, step); !err.empty()) return err;
        m = step;
        for (const double mevps : o_.rates_mevps) {
            if (mevps * 1e6 >= m.events_offered_per_s * 0.95 && mevps * 1e6 >= step.events_offered_per_s * 0.95) break;
            if (std::string err = generate(mevps * 1e6, o_.seconds, step); !err.empty()) return err;
            if (step.copies_per_s > m.copies_per_s) m.copies_per_s = step.copies_per_s;
            // Well past the knee: more offered load only delivers less.
            if (step.copies_per_s < 0.5 * m.copies_per_s) break;
        }
        const Result<std::uint64_t> socket_after = mom->udp_in_datagrams();
        if (!socket_after) return socket_after.message();
        m.mom_socket_datagrams = *socket_after - *socket_before;
        return mom->stop().message();
    }

    const FanoutOptions& o_;
    LiveRig rig_;
};

}  // namespace

void register_fanout_command(CLI::App& app, const char* name, int& exit_code) {
    auto o = std::make_shared<FanoutOptions>();
    CLI::App* cmd = add_subcommand<FanoutOptions>(
        app, name, "Delivered copies per second for 1, 2, 4, 8 subscription groups: kernel fan-out vs the socket path",
        exit_code, o, "Smoke run: 0.2 s steps, groups 1 and 4, one paced rate (not a measurement)",
        [](FanoutOptions& o) {
            o.seconds = 0.2;
            o.groups = {1, 4};
            o.rates_mevps = {0.05};
        },
        [](const FanoutOptions& o) { return FanoutBench(o).run(); });
    add_seconds_option(cmd, o->seconds, "Length of each offered-load step", 0.05, 30.0);
    cmd->add_option("--groups", o->groups, "Group counts to measure")->check(CLI::Range(1, 16))->capture_default_str();
    add_xdp_mode_option(cmd, o->xdp_mode, "XDP mode of the router on the kernel path: native or generic");
    cmd->add_option("--cpu", o->cpu, "CPU the generator runs on")->capture_default_str();
    cmd->add_option("--mom-cpu", o->mom_cpu, "CPU of tempos-mom and of mom:eth0's receive work")
        ->capture_default_str();
    cmd->add_option("--rates", o->rates_mevps, "Paced offered loads in M events/s, tried in increasing order")
        ->capture_default_str();
}

}  // namespace tempos::bench
