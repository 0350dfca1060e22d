#include "fanout_command.hpp"

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

#include "bench_network.hpp"
#include "frames/frame_world.hpp"
#include "json_value.hpp"
#include "live_traffic.hpp"
#include "bench_mom.hpp"
#include "fanout_table.hpp"
#include "skeleton.hpp"
#include "tempos_fanout.skel.h"
#include "test_run_timer.hpp"

namespace tempos::bench {

namespace {

constexpr std::uint8_t kBenchTopic = 1;  // the fanned-out strict topic

struct FanoutOptions {
    bool json = false;
    double seconds = 1.0;  // per offered-load step
    // Paced offered loads in M events/s, tried in increasing order below the generator's limit.
    std::vector<double> rates_mevps{0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3};
    std::vector<int> groups{1, 2, 4, 8};
    std::string xdp_mode = "native";
    int cpu = 0;      // the generator's
    int mom_cpu = 1;  // everything of the MoM node: tempos-mom and mom:eth0's receive work (threaded NAPI)
    bool quick = false;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The TC fan-out program's own cost per event under BPF_PROG_TEST_RUN, in the MoM's namespace: the skb enters
// as if received on mom:eth0 and the clones really leave through mom:eth1 toward sub1 (whose counter sees them);
// the last group's copy, the original redirected, is rewritten but not transmitted by a test run.
// Same method as tempos-bench prog (test_run_timer.hpp): a batch call paired with a 1-run call, median of the
// differences; the frame is fresh for every call (the program rewrites it, TTL - 1 per run).
class ProgramCost {
public:
    ~ProgramCost() {
        if (skel_) tempos_fanout__destroy(skel_);
    }

    // to_dummy: the clones go to a discarding device in the MoM's namespace (a veth whose peer is down: it frees
    // each frame on transmit and counts it as a tx drop; this kernel has no dummy driver), so the cost is the
    // MoM's alone; else through mom:eth1 to sub1, whose receive of each copy runs on the same CPU.
    std::string open(const BenchNetwork& net, bool to_dummy) {
        if (to_dummy && !run_shell("ip netns exec " + net.ns("mom") + " sh -c 'ip link add fo_dummy type veth peer "
                                                                      "name fo_dummy_peer && ip link set fo_dummy up'"))
            return "creating the discarding device in the MoM's namespace failed";
        NetnsGuard in_mom(net.ns("mom"));
        if (!in_mom.error().empty()) return in_mom.error();
        skel_ = tempos_fanout__open();
        if (!skel_) return std::string("opening the fan-out program: ") + std::strerror(errno);
        tempos::xdp::set_mom_constants(*skel_, kMomPort, kMomIp4);
        if (int err = tempos_fanout__load(skel_); err != 0)
            return std::string("loading the fan-out program: ") + std::strerror(-err);
        table_.emplace(bpf_map__fd(skel_->maps.fanout_routes), bpf_map__fd(skel_->maps.fanout_group_counters),
                       bpf_map__fd(skel_->maps.fanout_topic_counters));
        ingress_ = if_nametoindex("eth0");
        egress_ = if_nametoindex(to_dummy ? "fo_dummy" : "eth1");
        const auto sub_mac = net.mac_bytes("sub1", "eth0");
        const auto egress_mac = net.mac_bytes("mom", "eth1");
        std::memcpy(member_.mac, sub_mac.data(), 6);
        std::memcpy(member_.src_mac, egress_mac.data(), 6);
        const std::uint8_t sub_ip[] = {10, 78, 0, 11};
        std::memcpy(&member_.ipv4, sub_ip, 4);
        member_.port = htons(kMomPort);
        member_.flags = TEMPOS_EP_HAS_MAC;
        member_.ifindex = egress_;
        return ingress_ && egress_ ? std::string() : "mom:eth0 or the egress device not found";
    }

    // Frames the discarding device dropped on transmit (/proc/thread-self/net/dev in the MoM's namespace).
    std::uint64_t dummy_tx(const BenchNetwork& net) const {
        NetnsGuard in_mom(net.ns("mom"));
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
    std::string time_event(const BenchNetwork& net, const std::vector<std::uint8_t>& frame, int groups,
                           std::uint32_t pairs, double& ns) {
        std::vector<tempos_route> routes(static_cast<std::size_t>(groups));
        for (tempos_route& r : routes) {
            r.count = 1;
            r.subs[0] = member_;
        }
        if (tempos::Status set = groups > 0 ? table_->set(kBenchTopic, routes) : table_->remove(kBenchTopic); !set)
            return set.message();
        NetnsGuard in_mom(net.ns("mom"));
        if (!in_mom.error().empty()) return in_mom.error();
        constexpr std::uint32_t kBatch = 100;
        std::vector<double> differences;
        for (std::uint32_t i = 0; i < pairs; ++i) {
            const double batch = call(frame, kBatch), single = call(frame, 1);
            if (batch < 0 || single < 0) return std::string("bpf_prog_test_run_opts: ") + std::strerror(errno);
            differences.push_back(batch - single);
        }
        ns = median(std::move(differences)) / (kBatch - 1);
        return {};
    }

private:
    static constexpr std::array<std::uint8_t, 4> kMomIp4{10, 77, 0, 2};

    double call(const std::vector<std::uint8_t>& frame, std::uint32_t repeat) {
        std::vector<std::uint8_t> out(frame.size() + 256);
        __sk_buff ctx{};
        ctx.ifindex = ingress_;
        LIBBPF_OPTS(bpf_test_run_opts, opts);
        opts.data_in = frame.data();
        opts.data_size_in = static_cast<std::uint32_t>(frame.size());
        opts.data_out = out.data();
        opts.data_size_out = static_cast<std::uint32_t>(out.size());
        opts.ctx_in = &ctx;
        opts.ctx_size_in = sizeof(ctx);
        opts.repeat = repeat;
        const auto start = std::chrono::steady_clock::now();
        const int err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.tempos_fanout), &opts);
        const auto end = std::chrono::steady_clock::now();
        return err != 0 ? -1 : std::chrono::duration<double, std::nano>(end - start).count();
    }

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

    int run() {
        if (std::string err = setup(); !err.empty()) return fail(err);
        JsonWriter out;
        if (std::string err = program_cost(out); !err.empty()) return fail("program cost: " + err);
        std::vector<std::pair<int, Measurement>> kernel_runs;
        for (const int groups : o_.groups) {
            Measurement kernel, socket;
            if (std::string err = measure(o_.xdp_mode, groups, kernel); !err.empty())
                return fail("kernel, " + std::to_string(groups) + " groups: " + err);
            if (std::string err = measure("off", groups, socket); !err.empty())
                return fail("socket, " + std::to_string(groups) + " groups: " + err);
            kernel_runs.emplace_back(groups, kernel);
            const std::string g = "fanout" + std::to_string(groups);
            out.number(g + "_kernel_mcps", kernel.copies_per_s / 1e6, 4)
                .number(g + "_socket_mcps", socket.copies_per_s / 1e6, 4)
                .number(g + "_speedup", socket.copies_per_s > 0 ? kernel.copies_per_s / socket.copies_per_s : 0, 2)
                .number(g + "_kernel_mom_socket_datagrams", static_cast<double>(kernel.mom_socket_datagrams), 0);
            if (!o_.json)
                std::printf("%d group(s): kernel %.3f M copies/s, socket path %.3f M copies/s (x%.2f); "
                            "MoM socket datagrams on the kernel path: %llu\n",
                            groups, kernel.copies_per_s / 1e6, socket.copies_per_s / 1e6,
                            socket.copies_per_s > 0 ? kernel.copies_per_s / socket.copies_per_s : 0,
                            static_cast<unsigned long long>(kernel.mom_socket_datagrams));
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
            if (!o_.json)
                std::printf("kernel: %.0f ns per event at %d groups, %.0f ns at %d: %.1f ns per added copy\n", ns_low,
                            low_g, ns_high, high_g, (ns_high - ns_low) / (high_g - low_g));
        }
        out.text("fanout_xdp_mode", o_.xdp_mode)
            .number("fanout_seconds", o_.seconds, 2)
            .number("fanout_generator_cpu", o_.cpu, 0)
            .number("fanout_mom_cpu", o_.mom_cpu, 0);
        if (o_.json) std::printf("%s\n", out.str().c_str());
        return 0;
    }

private:
    int fail(const std::string& why) {
        std::fprintf(stderr, "tempos-bench fanout: %s\n", why.c_str());
        return 1;
    }

    // The program alone (test runs), G = 2..16: ns per event, and the slope per added copy.
    std::string program_cost(JsonWriter& out) { return program_cost_to(out, true); }

    // G = 2..16: ns per event, and a least-squares slope per added copy (fields fanout_prog_*). to_dummy false
    // (copies through mom:eth1 to sub1) is kept for experiments: sub1's receive then competes with the test runs
    // for CPU 0 and its 256-entry ring overflows, so its exact-count check fails by design.
    std::string program_cost_to(JsonWriter& out, bool to_dummy) {
        ProgramCost cost;
        if (std::string err = cost.open(net_, to_dummy); !err.empty()) return err;
        const std::string prefix = to_dummy ? "fanout_prog_" : "fanout_prog_veth_";
        const std::uint32_t pairs = o_.quick ? 20 : 300;
        auto sent = [&] { return to_dummy ? cost.dummy_tx(net_) : counter_.total(); };
        std::vector<std::pair<int, double>> points;
        for (const int groups : {2, 4, 8, 16}) {
            double ns = 0;
            const std::uint64_t before = sent();
            if (std::string err = cost.time_event(net_, frame_, groups, pairs, ns); !err.empty()) return err;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            // Every run sent its clones: (batch + 1) runs per pair, groups - 1 clones each (the last group's copy is
            // the original, redirected; a test run reports the verdict but does not perform the redirect).
            const std::uint64_t copies = sent() - before, want = std::uint64_t{pairs} * 101 * (groups - 1);
            if (copies != want)
                return "the test runs sent " + std::to_string(copies) + " copies, expected " + std::to_string(want);
            out.number(prefix + "ns_per_event_g" + std::to_string(groups), ns, 1);
            points.emplace_back(groups, ns);
        }
        // Least squares over the points: ns = fixed + per_copy * G.
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (const auto& [g, ns] : points) sx += g, sy += ns, sxx += double(g) * g, sxy += g * ns;
        const double n = static_cast<double>(points.size());
        const double per_copy = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        out.number(prefix + "ns_per_copy", per_copy, 1).number(prefix + "ns_fixed", (sy - per_copy * sx) / n, 1);
        double pass_ns = 0;
        if (to_dummy) {
            // What every other frame the XDP router passes up pays for the TC program being there.
            if (std::string err = cost.time_event(net_, frame_, 0, pairs, pass_ns); !err.empty()) return err;
            out.number("fanout_prog_ns_not_fanout", pass_ns, 1);
        }
        if (!o_.json)
            std::printf("program alone (test runs, copies to %s): %.0f ns per event at 2 groups, %.0f at 16: %.1f ns "
                        "per copy%s\n",
                        to_dummy ? "a discarding device" : "sub1 through a veth", points.front().second,
                        points.back().second, per_copy,
                        to_dummy ? ("; " + std::to_string(static_cast<int>(pass_ns)) + " ns for a frame of another topic")
                                       .c_str()
                                 : "");
        return {};
    }

    std::string setup() {
        if (std::string err = pin_to_cpu(o_.cpu); !err.empty()) return err;
        if (std::string err = net_.create({}); !err.empty()) return "building the namespaces: " + err;
        // Both paths get the same budget: one CPU for everything the MoM node does.
        if (std::string err = net_.pin_napi("mom", "eth0", o_.mom_cpu); !err.empty()) return err;
        {
            NetnsGuard in_pub(net_.ns("pub"));
            if (!in_pub.error().empty()) return in_pub.error();
            if (std::string err = generator_.open(); !err.empty()) return err;
            pub_ifindex_ = static_cast<int>(if_nametoindex("eth0"));
        }
        {
            NetnsGuard in_sub(net_.ns("sub1"));
            if (!in_sub.error().empty()) return in_sub.error();
            const int sub_if = static_cast<int>(if_nametoindex("eth0"));
            if (std::string err = counter_.attach(sub_if, kMomPort, SinkCounter::Hook::tc_ingress); !err.empty())
                return err;
        }
        // sub1's receive runs on the generator's CPU, not the MoM's (the subscribers are other machines in a
        // deployment): GRO off, so the veth hands what it receives to a backlog (1000 deep) instead of its
        // 256-entry ring, which one receive poll of the MoM (64 events) times G >= 4 copies overflows, and RPS
        // steers that backlog to the generator's CPU. G = 1 turns GRO back on (set_sub_gro).
        if (!run_shell("ip netns exec " + net_.ns("sub1") + " sh -c 'echo " + std::to_string(1 << o_.cpu) +
                       " > /sys/class/net/eth0/queues/rx-0/rps_cpus'"))
            return "steering sub1:eth0's receive (RPS) to CPU " + std::to_string(o_.cpu);
        frame_ = testkit::bench_event(net_.mac_bytes("mom", "eth0"), net_.mac_bytes("pub", "eth0"), {10, 77, 0, 1},
                                      {10, 77, 0, 2}, kMomPort, kBenchTopic).build();
        return {};
    }

    // One step of the generator at `rate` events/s (0: unpaced); copies counted at sub1.
    std::string generate(double rate, double seconds, Measurement& m) {
        const std::uint64_t before = counter_.total();
        std::string error;
        GeneratorRun run;
        {
            NetnsGuard in_pub(net_.ns("pub"));
            if (!in_pub.error().empty()) return in_pub.error();
            run = generator_.run(pub_ifindex_, frame_, rate, seconds, error);
        }
        if (!error.empty()) return error;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // drain queues before counting
        m.events_offered_per_s = run.rate_pps();
        m.copies_per_s = run.seconds > 0 ? static_cast<double>(counter_.total() - before) / run.seconds : 0;
        return {};
    }

    // Delivered copies per second: the best of an unpaced step (overload; user space can starve there) and paced
    // steps below the generator's limit.
    // GRO at sub1:eth0: needed for G = 1, where the XDP router redirects into the veth (a veth accepts redirected
    // frames only with GRO or XDP on the peer); off for G >= 2 (see setup). Both paths of one G alike.
    std::string set_sub_gro(bool on) {
        const std::string cmd = "ip netns exec " + net_.ns("sub1") + " ethtool -K eth0 gro " + (on ? "on" : "off");
        return run_shell(cmd) ? std::string() : "failed: " + cmd;
    }

    std::string measure(const std::string& mode, int groups, Measurement& m) {
        if (std::string err = set_sub_gro(groups == 1); !err.empty()) return err;
        // One strict topic whose G groups all hold sub1 (the same endpoint in several groups is allowed and gets
        // one copy per group), so one counter at sub1 sees every copy of both paths.
        Result<testkit::MomRunner> mom = start_bench_mom(
            net_, mode, {bench_topic(kBenchTopic, "strict", BenchNetwork::kSub1Ip, net_.mac("sub1", "eth0"), groups)},
            o_.mom_cpu);
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
    BenchNetwork net_;
    LiveGenerator generator_;
    SinkCounter counter_;
    int pub_ifindex_ = 0;
    std::vector<std::uint8_t> frame_;
};

}  // namespace

void register_fanout_command(CLI::App& app, const char* name, int& exit_code) {
    auto o = std::make_shared<FanoutOptions>();
    CLI::App* cmd = app.add_subcommand(
        name, "Delivered copies per second for 1, 2, 4, 8 subscription groups: kernel fan-out vs the socket path");
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_option("--seconds", o->seconds, "Length of each offered-load step")
        ->check(CLI::Range(0.05, 30.0))
        ->capture_default_str();
    cmd->add_option("--groups", o->groups, "Group counts to measure")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    cmd->add_option("--xdp-mode", o->xdp_mode, "XDP mode of the router on the kernel path: native or generic")
        ->check(CLI::IsMember({"native", "generic"}))
        ->capture_default_str();
    cmd->add_option("--cpu", o->cpu, "CPU the generator runs on")->capture_default_str();
    cmd->add_option("--mom-cpu", o->mom_cpu, "CPU of tempos-mom and of mom:eth0's receive work")
        ->capture_default_str();
    cmd->add_option("--rates", o->rates_mevps, "Paced offered loads in M events/s, tried in increasing order")
        ->capture_default_str();
    cmd->add_flag("--quick", o->quick, "Smoke run: 0.2 s steps, groups 1 and 4, one paced rate (not a measurement)");
    cmd->callback([o, &exit_code] {
        if (o->quick) {
            o->seconds = 0.2;
            o->groups = {1, 4};
            o->rates_mevps = {0.05};
        }
        exit_code = FanoutBench(*o).run();
    });
}

}  // namespace tempos::bench
