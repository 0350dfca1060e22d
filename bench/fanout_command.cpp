#include <bpf/libbpf.h>

#include <array>
#include <chrono>
#include <map>

#include "bench_mom.hpp"
#include "destination_table.hpp"
#include "fanout_table.hpp"
#include "frames/router_fixtures.hpp"
#include "live_traffic.hpp"
#include "tempos_fanout.skel.h"

namespace tempos::bench {

namespace {

constexpr std::uint8_t kBenchTopic = 1;  // the fanned-out strict topic

struct FanoutOptions : CommonOptions {
    double seconds = 1.0;  // per offered-load step
    // Paced offered loads in M events/s, tried in increasing order below the generator's limit.
    std::vector<double> rates_mevps{0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3};
    std::vector<int> groups{1, 2, 4, 8};
    std::string xdp_mode = "native";
    int cpu = 0;      // the generator's
    int mom_cpu = 1;  // everything of the MoM node: tempos-mom and mom:eth0's receive work (threaded NAPI)

    void apply_quick() {
        std::tie(seconds, groups, rates_mevps) = std::tuple{0.2, std::vector{1, 4}, std::vector{0.05}};
    }
    void add_options(CLI::App* cmd) {
        cmd->add_option("--groups", groups, "Group counts to measure")->check(CLI::Range(1, 16));
        cmd->add_option("--rates", rates_mevps, "Paced offered loads in M events/s, tried in increasing order");
    }
};

}  // namespace

struct FanoutBench : Bench<FanoutOptions> {
    using Bench::Bench;

    Result<Report> run() {
        TEMPOS_RETURN_IF_ERROR(setup());
        Report out;
        if (Status st = program_cost(out); !st) return st.prefixed("program cost");
        std::map<int, double> kernel_by_groups;  // G >= 2: copies per second through the kernel
        for (const int groups : o_.groups) {
            const Result<LiveRig::Sweep> kernel = measure(o_.xdp_mode, groups);
            if (!kernel) return kernel.status().prefixed("kernel, " + std::to_string(groups) + " groups");
            const Result<LiveRig::Sweep> socket = measure("off", groups);
            if (!socket) return socket.status().prefixed("socket, " + std::to_string(groups) + " groups");
            // Copies per second: the best step's.
            const double kernel_cps = kernel->best().delivered_per_s(), socket_cps = socket->best().delivered_per_s();
            if (groups >= 2 && kernel_cps > 0) kernel_by_groups[groups] = kernel_cps;
            const std::string g = "fanout" + std::to_string(groups);
            out.number(g + "_kernel_mcps", kernel_cps / 1e6, 4)
                .number(g + "_socket_mcps", socket_cps / 1e6, 4)
                .number(g + "_speedup", socket_cps > 0 ? kernel_cps / socket_cps : 0, 2)
                .number(g + "_kernel_mom_socket_datagrams", static_cast<double>(kernel->mom_socket_datagrams), 0);
        }
        // The MoM's CPU is saturated: 1 / event rate is the CPU time of an event with G copies (docs/fanout.md).
        if (kernel_by_groups.size() >= 2) {
            const auto [low_g, low] = *kernel_by_groups.begin();
            const auto [high_g, high] = *kernel_by_groups.rbegin();
            out.number("fanout_kernel_ns_per_copy", (1e9 * high_g / high - 1e9 * low_g / low) / (high_g - low_g), 1);
        }
        out.raw("fanout_xdp_mode", o_.xdp_mode)
            .raw("fanout_generator", rig_.generator())
            .number("fanout_seconds", o_.seconds, 2)
            .number("fanout_generator_cpu", o_.cpu, 0)
            .number("fanout_mom_cpu", o_.mom_cpu, 0);
        return out;
    }

private:
    // The TC fan-out program's own cost under BPF_PROG_TEST_RUN in the MoM's namespace, its clones sent to a
    // discarding device (a veth whose peer is down; this kernel has no dummy driver). Method: docs/fanout.md.
    Status program_cost(Report& out) {
        constexpr std::array<std::uint8_t, 4> kMomIp4 = testkit::world::ipv4_bytes(p2p::kMomIp);
        constexpr std::uint32_t kBatch = 100;  // runs per call; each pair of calls sends kBatch + 1 events
        const auto mom_mac = rig_.net.mac("mom", "eth0"), egress_mac = rig_.net.mac("mom", "eth1");
        if (!mom_mac || !egress_mac) return mom_mac ? egress_mac.status() : mom_mac.status();
        testkit::NetnsScope in_mom(rig_.net.ns("mom"));
        if (!in_mom.status()) return in_mom.status();
        if (Status st = testkit::add_veth_pair({.a = "fo_dummy", .b = "fo_dummy_peer", .b_up = false}); !st)
            return st.prefixed("creating the discarding device in the MoM's namespace");
        const Result<std::uint32_t> ingress = testkit::ifindex_of("eth0"), egress = testkit::ifindex_of("fo_dummy");
        if (!ingress || !egress) return ingress ? egress.status() : ingress.status();
        TEMPOS_ASSIGN_OR_RETURN(auto skel, testkit::load_skeleton("tempos_fanout", tempos_fanout__open,
                                                                  tempos_fanout__load, tempos_fanout__destroy,
                                                                  {kMomPort, kMomIp4}));
        const tempos_fanout& prog = *skel;
        // Loaded alone (no router to share it), the program's local_destinations is empty and it would take no
        // frame (bpf/destination.h): it gets what the adapter would put there for mom:eth0.
        if (Status local = tempos::xdp::DestinationTable(bpf_map__fd(prog.maps.local_destinations))
                               .set({{*mom_mac}, {kMomIp4}, {}});
            !local)
            return local.prefixed("filling the fan-out program's local addresses");
        tempos::xdp::FanoutTable table(bpf_map__fd(prog.maps.fanout_routes),
                                       bpf_map__fd(prog.maps.fanout_group_counters),
                                       bpf_map__fd(prog.maps.fanout_topic_counters));
        // Repetitions reuse the frame as the last run left it: a member that is the MoM itself keeps it fanned out.
        tempos_route route{.count = 1};
        route.subs[0] = testkit::endpoint(kMomIp4, kMomPort, *mom_mac, *egress_mac, *egress);
        const std::uint32_t pairs = o_.quick ? 20 : 300;
        __sk_buff ctx{};
        ctx.ifindex = *ingress;
        // ns per event with `groups` copies (0: the topic is not fanned out, the frame passes).
        auto time_event = [&](int groups) -> Result<double> {
            const std::vector<tempos_route> routes(static_cast<std::size_t>(groups), route);
            TEMPOS_RETURN_IF_ERROR(groups > 0 ? table.set(kBenchTopic, routes) : table.remove(kBenchTopic));
            return time_per_run_ns(bpf_program__fd(prog.progs.tempos_fanout), rig_.frame, pairs * kBatch, kBatch,
                                   testkit::context_bytes(ctx));
        };
        // Frames the discarding device dropped on transmit (its tx_dropped); 0 if unreadable.
        auto dummy_tx = [] {
            const Result<std::vector<testkit::InterfaceDrops>> drops = testkit::interface_drops();
            for (const testkit::InterfaceDrops& d : drops ? *drops : std::vector<testkit::InterfaceDrops>{})
                if (d.ifname == "fo_dummy") return d.tx_dropped;
            return std::uint64_t{0};
        };
        std::vector<std::pair<int, double>> points;
        for (const int groups : {2, 4, 8, 16}) {
            const std::uint64_t before = dummy_tx();
            TEMPOS_ASSIGN_OR_RETURN(auto ns, time_event(groups));
            // Every run sent its clones: groups - 1 each (a test run does not perform the original's redirect).
            const std::uint64_t want = std::uint64_t{pairs} * (kBatch + 1) * (groups - 1);
            const std::uint64_t copies = testkit::poll_until_settled(
                [&] { return dummy_tx() - before; }, want, std::chrono::milliseconds(100), std::chrono::seconds(2));
            if (copies != want)
                return measurement_error("the test runs sent " + std::to_string(copies) + " copies, expected " +
                                         std::to_string(want));
            out.number("fanout_prog_ns_per_event_g" + std::to_string(groups), ns, 1);
            points.emplace_back(groups, ns);
        }
        // Least squares over the points: ns = fixed + per_copy * G.
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (const auto& [g, ns] : points) sx += g, sy += ns, sxx += double(g) * g, sxy += g * ns;
        const double n = static_cast<double>(points.size());
        const double per_copy = (n * sxy - sx * sy) / (n * sxx - sx * sx);
        // What every other frame the XDP router passes up pays for the TC program being there.
        TEMPOS_ASSIGN_OR_RETURN(auto pass_ns, time_event(0));
        out.number("fanout_prog_ns_per_copy", per_copy, 1)
            .number("fanout_prog_ns_fixed", (sy - per_copy * sx) / n, 1)
            .number("fanout_prog_ns_not_fanout", pass_ns, 1);
        return Status::ok();
    }

    Status setup() {
        TEMPOS_RETURN_IF_ERROR(rig_.build(o_.cpu, {}, kBenchTopic, LiveRig::Hook::tc_ingress));
        // Both paths get the same budget: one CPU for everything the MoM node does.
        TEMPOS_RETURN_IF_ERROR(rig_.net.pin_napi("mom", "eth0", o_.mom_cpu));
        // sub1's receive on the generator's CPU (RPS), GRO off (measure): a veth's 256-entry ring would overflow
        // at G >= 4 (docs/fanout.md).
        const Result<std::string> rps = rig_.net.exec(
            "sub1",
            {"sh", "-c", "echo " + std::to_string(1 << o_.cpu) + " > /sys/class/net/eth0/queues/rx-0/rps_cpus"});
        return rps.status().prefixed("steering sub1:eth0's receive (RPS) to CPU " + std::to_string(o_.cpu));
    }

    // Delivered copies per second: the best of an unpaced step and paced steps below the generator's limit. G = 1
    // needs a native XDP program at sub1:eth0 before tempos-mom starts, or the adapter keeps mom:eth1 out of
    // egress_ports; G >= 2 none, GRO off (docs/fanout.md). Both paths of one G alike.
    Result<LiveRig::Sweep> measure(const std::string& mode, int groups) {
        TEMPOS_RETURN_IF_ERROR(rig_.net.set_gro("sub1", "eth0", false));
        TEMPOS_RETURN_IF_ERROR(groups == 1 ? rig_.net.attach_peer_pass("sub1", "eth0")
                                           : rig_.net.detach_xdp("sub1", "eth0"));
        // G groups that all hold sub1 (one copy per group): one counter sees every copy of both paths.
        TEMPOS_ASSIGN_OR_RETURN(
            auto mom, start_bench_mom(rig_.net, mode, {{kBenchTopic, "strict", "sub1", groups}}, {.cpu = o_.mom_cpu}));
        // Paced steps below the generator's limit or the last offer, until well past the knee (more offered load
        // only delivers less); the `groups` copies of each event counted at sub1.
        auto go_on = [](const LiveRig::Sweep& s, double pps) {
            if (s.steps.back().delivered_per_s() < 0.5 * s.best().delivered_per_s()) return false;
            return pps < s.steps.front().sent.rate_pps() * 0.95 || pps < s.steps.back().sent.rate_pps() * 0.95;
        };
        const Result<LiveRig::Sweep> swept = rig_.sweep(o_.seconds, o_.rates_mevps, go_on, &mom, 1, -1, groups);
        if (swept) TEMPOS_RETURN_IF_ERROR(mom.stop());
        return swept;
    }

    LiveRig rig_;
};

void register_fanout_command(CLI::App& app, int& exit_code) { add_bench<FanoutBench>(app, "fanout", exit_code); }

}  // namespace tempos::bench
