#include "commands.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "bench_packet.hpp"
#include "dispatcher_hold.hpp"
#include "empty_xdp.skel.h"
#include "route_table.hpp"
#include "skeleton.hpp"
#include "subcommand.hpp"
#include "tempos_router.skel.h"
#include "test_run_timer.hpp"
#include "thesis_router.skel.h"

namespace tempos::bench {

namespace {

struct ProgOptions : CommonOptions {
    bool verbose = false;
    std::uint64_t iterations = 10'000'000;
    int runs = 5;
    int cpu = -1;
    std::uint32_t batch = 254;
};

// The thesis's map value (bench/thesis_router.bpf.c): 5 IPv4 addresses then 5 MACs, zero padding.
struct ThesisTopicValue {
    std::uint32_t ips[5];
    std::uint8_t macs[5][6];
};
static_assert(sizeof(ThesisTopicValue) == 52, "4-byte aligned like the BPF side: 50 bytes + 2 padding");

std::string setup_router(tempos_router* skel) {
    tempos_route route{};
    for (const BenchSubscriber& s : kBenchSubscribers) {
        tempos_endpoint& ep = route.subs[route.count++];
        std::memcpy(&ep.ipv4, s.ip.data(), 4);
        // The subscriber port equals the MoM's, so a rewritten frame still matches on the next repetition.
        ep.port = htons(kBenchPort);
        ep.flags = TEMPOS_EP_HAS_MAC;
        std::memcpy(ep.mac, s.mac.data(), 6);
        std::memcpy(ep.src_mac, kMomMac.data(), 6);
    }
    tempos::xdp::RouteTable table(bpf_map__fd(skel->maps.topic_routes), bpf_map__fd(skel->maps.topic_counters));
    const tempos::Status st = table.set(kBenchTopic, route);
    return st ? std::string() : st.message();
}

std::string setup_thesis(thesis_router* skel) {
    ThesisTopicValue value{};
    for (std::size_t i = 0; i < kBenchSubscribers.size(); ++i) {
        std::memcpy(&value.ips[i], kBenchSubscribers[i].ip.data(), 4);
        std::memcpy(value.macs[i], kBenchSubscribers[i].mac.data(), 6);
    }
    const std::uint8_t key = kBenchTopic;
    if (bpf_map__update_elem(skel->maps.thesis_topics, &key, sizeof(key), &value, sizeof(value), BPF_ANY) != 0)
        return std::string("thesis map update: ") + std::strerror(errno);
    return {};
}

std::uint64_t redirected_on_topic(tempos_router* skel) {
    tempos::xdp::RouteTable table(bpf_map__fd(skel->maps.topic_routes), bpf_map__fd(skel->maps.topic_counters));
    tempos_topic_counters c{};
    return table.read_counters(kBenchTopic, c) ? c.redirected_packets : 0;
}

Status expect_action(const char* name, int prog_fd, const std::vector<std::uint8_t>& frame, std::uint32_t expected) {
    const Result<TestRun> run = test_run(prog_fd, frame, 1);
    if (!run) return run.status().prefixed(name);
    if (run->retval != expected)
        return Status::error(ErrorCode::internal, std::string(name) + ": returned action " +
                                                      std::to_string(run->retval) + " on the bench frame, expected " +
                                                      std::to_string(expected));
    return Status::ok();
}

struct Contender {
    const char* name;
    int prog_fd;
    std::function<std::string(std::uint64_t calls)> check;  // validates a run afterwards (optional)
    std::vector<double> samples;
};

// Runs are interleaved (ours, thesis, empty, ours, ...) so that load from other processes drifting over time
// affects every program alike; each reports the median of its runs.
std::string measure_interleaved(std::vector<Contender>& contenders, const std::vector<std::uint8_t>& frame,
                                const ProgOptions& o) {
    const TimerSettings settings{o.iterations, o.batch};
    const std::uint64_t calls = (o.iterations + o.batch - 1) / o.batch;
    for (int r = 0; r < o.runs; ++r) {
        for (Contender& c : contenders) {
            const Result<double> ns = time_per_run_ns(c.prog_fd, frame, settings);
            if (!ns) return std::string(c.name) + ": " + ns.message();
            if (c.check) {
                if (std::string err = c.check(calls); !err.empty()) return std::string(c.name) + ": " + err;
            }
            if (o.verbose) std::fprintf(stderr, "%s run %d: %.3f ns\n", c.name, r + 1, *ns);
            c.samples.push_back(*ns);
        }
    }
    return {};
}

Result<Report> run_prog(const ProgOptions& o) {
    if (std::string err = pin_to_cpu(o.cpu); !err.empty()) return measurement_error(err);
    if (o.batch < 2 || o.batch > 254)
        return Status::error(ErrorCode::invalid_argument, "--batch must be 2..254 (the frame's TTL budget)");
    const std::vector<std::uint8_t> frame = strict_event_frame();

    tempos::xdp::SkeletonPtr<tempos_router> router(tempos_router__open(), tempos_router__destroy);
    tempos::xdp::SkeletonPtr<thesis_router> thesis(thesis_router__open(), thesis_router__destroy);
    tempos::xdp::SkeletonPtr<empty_xdp> empty(empty_xdp__open(), empty_xdp__destroy);
    if (!router || !thesis || !empty) return measurement_error(std::string("opening the BPF objects: ") + std::strerror(errno));
    tempos::xdp::set_mom_constants(*router, kBenchPort, kMomIp);
    thesis->rodata->redirect_ifindex = 1;  // loopback: BPF_PROG_TEST_RUN does not transmit
    if (int err = tempos_router__load(router.get()); err != 0)
        return measurement_error(std::string("loading tempos_router: ") + std::strerror(-err));
    if (int err = thesis_router__load(thesis.get()); err != 0)
        return measurement_error(std::string("loading thesis_router: ") + std::strerror(-err));
    if (int err = empty_xdp__load(empty.get()); err != 0)
        return measurement_error(std::string("loading empty_xdp: ") + std::strerror(-err));
    for (const std::string& err : {setup_router(router.get()), setup_thesis(thesis.get())})
        if (!err.empty()) return measurement_error(err);
    const int router_fd = bpf_program__fd(router->progs.tempos_router);
    const int thesis_fd = bpf_program__fd(thesis->progs.thesis_router);
    const int empty_fd = bpf_program__fd(empty->progs.empty_xdp);
    if (std::string err = hold_in_dispatcher({router_fd, thesis_fd, empty_fd}); !err.empty()) return measurement_error(err);
    for (const auto& [name, fd, action] : {std::tuple{"tempos_router", router_fd, std::uint32_t{XDP_TX}},
                                           std::tuple{"thesis_router", thesis_fd, std::uint32_t{XDP_REDIRECT}},
                                           std::tuple{"empty_xdp", empty_fd, std::uint32_t{XDP_TX}}})
        if (Status st = expect_action(name, fd, frame, action); !st) return st;

    // Our program must have taken the routing path on every single repetition, or we timed something else.
    std::uint64_t redirected_before = redirected_on_topic(router.get());
    auto every_run_routed = [&](std::uint64_t calls) -> std::string {
        const std::uint64_t now = redirected_on_topic(router.get());
        const std::uint64_t expected = calls * (o.batch + 1);
        const std::uint64_t got = now - redirected_before;
        redirected_before = now;
        if (got != expected)
            return "routed " + std::to_string(got) + " of " + std::to_string(expected) + " runs";
        return {};
    };

    std::vector<Contender> contenders{{"tempos_router", router_fd, every_run_routed, {}},
                                      {"thesis_router", thesis_fd, nullptr, {}},
                                      {"empty_xdp", empty_fd, nullptr, {}}};
    if (std::string err = measure_interleaved(contenders, frame, o); !err.empty()) return measurement_error(err);
    const double prog_ns = median(contenders[0].samples);
    const double thesis_ns = median(contenders[1].samples);
    const double empty_ns = median(contenders[2].samples);
    const double speedup = thesis_ns / prog_ns;
    Report report;
    report.number("prog_ns", prog_ns, 2)
        .number("thesis_ns", thesis_ns, 2)
        .number("empty_ns", empty_ns, 2)
        .number("prog_speedup", speedup, 3);
    return report;
}

}  // namespace

void register_prog_command(CLI::App& app, const char* name, int& exit_code) {
    auto options = std::make_shared<ProgOptions>();
    CLI::App* cmd = add_subcommand<ProgOptions>(
        app, name, "Per-packet cost (BPF_PROG_TEST_RUN) of our XDP router, the thesis's program and an empty one",
        exit_code, options, "Smoke run: 1e5 repetitions, one run (not a measurement)",
        [](ProgOptions& o) {
            o.iterations = 100'000;
            o.runs = 1;
        },
        run_prog);
    cmd->add_flag("-v,--verbose", options->verbose, "Print every run's figure to stderr");
    cmd->add_option("--repeat", options->iterations, "Program runs per measurement")
        ->check(CLI::Range(static_cast<std::uint64_t>(1), static_cast<std::uint64_t>(1) << 40))
        ->capture_default_str();
    cmd->add_option("--runs", options->runs, "Measurements per program; the median is reported")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option("--cpu", options->cpu, "CPU to pin to (-1: the current one)")->capture_default_str();
    cmd->add_option("--batch", options->batch, "Repetitions per syscall, 2..254 (TTL budget of the frame)")
        ->capture_default_str();
}

}  // namespace tempos::bench
