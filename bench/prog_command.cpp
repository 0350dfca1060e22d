#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <tuple>

#include "empty_xdp.skel.h"
#include "frames/frame_world.hpp"
#include "frames/router_fixtures.hpp"
#include "route_table.hpp"
#include "skeleton.hpp"
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
    std::uint64_t fixture_calls = 20'000;

    void apply_quick() { std::tie(iterations, runs, fixture_calls) = std::tuple{100'000, 1, 1000}; }
    void add_options(CLI::App* cmd) {
        cmd->add_flag("-v,--verbose", verbose, "Print every run's figure to stderr");
        cmd->add_option("--repeat", iterations, "Program runs per measurement")->check(CLI::Range(1.0, 1e12));
        cmd->add_option("--runs", runs, "Measurements per program; the median is reported")
            ->check(CLI::Range(1, 1000));
        cmd->add_option("--batch", batch, "Repetitions per syscall (the frame's TTL budget)")
            ->check(CLI::Range(2u, 254u));
        cmd->add_option("--fixture-calls", fixture_calls, "Single-run pairs per router fixture")
            ->check(CLI::Range(1.0, 4e9));
    }
};

namespace world = testkit::world;
constexpr std::uint8_t kBenchTopic = 1, kBenchTopic6 = 2;  // the IPv4 and the IPv6 bench event's
// Three members for both programs, so both run their round robin; for our program's IPv6 event their IPv6 forms.
const world::Subscriber kBenchSubscribers[] = {world::kSubA, world::kSubB, world::kSubC};
const world::Subscriber6 kBenchSubscribers6[] = {
    world::kSubA6, world::kSubB6,
    {{0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0c}, 5003, world::kSubC.mac}};

// The thesis's map value (bench/thesis_router.bpf.c): 5 IPv4 addresses then 5 MACs, zero padding.
struct ThesisTopicValue {
    std::uint32_t ips[5];
    std::uint8_t macs[5][6];
};
static_assert(sizeof(ThesisTopicValue) == 52, "4-byte aligned like the BPF side: 50 bytes + 2 padding");

Status setup_router(tempos_router* skel) {
    tempos_route route{}, route6{};
    // The subscriber port equals the MoM's, and the subscribers' MACs and addresses count as the MoM's own
    // (bpf/destination.h), so a rewritten frame still matches on the next repetition.
    tempos::xdp::LocalDestinations local = testkit::standard_local_destinations();
    for (const world::Subscriber& s : kBenchSubscribers) {
        route.subs[route.count++] = testkit::endpoint(s.ip, world::kMomPort, s.mac, world::kMomMac);
        local.macs.insert(s.mac);
        local.ipv4.insert(s.ip);
    }
    for (const world::Subscriber6& s : kBenchSubscribers6) {
        route6.subs[route6.count++] = testkit::endpoint(s.ip, world::kMomPort, s.mac, world::kMomMac);
        local.ipv6.insert(s.ip);
    }
    TEMPOS_RETURN_IF_ERROR(tempos::xdp::DestinationTable(bpf_map__fd(skel->maps.local_destinations)).set(local));
    tempos::xdp::RouteTable table(bpf_map__fd(skel->maps.topic_routes), bpf_map__fd(skel->maps.topic_counters));
    TEMPOS_RETURN_IF_ERROR(table.set(kBenchTopic, route));
    return table.set(kBenchTopic6, route6);
}

Status setup_thesis(thesis_router* skel) {
    ThesisTopicValue value{};
    for (std::size_t i = 0; i < std::size(kBenchSubscribers); ++i) {
        std::memcpy(&value.ips[i], kBenchSubscribers[i].ip.data(), 4);
        std::memcpy(value.macs[i], kBenchSubscribers[i].mac.data(), 6);
    }
    const std::uint8_t key = kBenchTopic;
    if (bpf_map__update_elem(skel->maps.thesis_topics, &key, sizeof(key), &value, sizeof(value), BPF_ANY) != 0)
        return os_error("thesis map update", errno);
    return Status::ok();
}

std::uint64_t redirected_on_topic(tempos_router* skel, std::uint8_t topic) {
    tempos::xdp::RouteTable table(bpf_map__fd(skel->maps.topic_routes), bpf_map__fd(skel->maps.topic_counters));
    const Result<tempos_topic_counters> c = table.read_counters(topic);
    return c ? c->redirected_packets : 0;
}

// One run of `frame`: ok when the program returned `expected` (and, when given, this output frame).
Status expect_action(const std::string& name, int prog_fd, const std::vector<std::uint8_t>& frame,
                     std::uint32_t expected, const std::vector<std::uint8_t>* expected_output = nullptr) {
    const Result<testkit::ProgRun> run = testkit::prog_test_run(prog_fd, frame);
    if (!run) return run.status().prefixed(name);
    if (run->action != static_cast<int>(expected))
        return Status::error(ErrorCode::internal, name + ": returned action " + std::to_string(run->action) +
                                                      " on the bench frame, expected " + std::to_string(expected));
    if (expected_output && run->output != *expected_output)
        return Status::error(ErrorCode::internal, name + ": the output frame differs from the fixture's");
    return Status::ok();
}

// The router fixtures' rows (method: bench/README.md, `fixtures_ns`): one router per distinct constants.
using FixtureRouters = std::vector<std::pair<testkit::MomConstants, tempos::xdp::SkeletonPtr<tempos_router>>>;

tempos_router* router_for(const FixtureRouters& routers, const testkit::RouterFixture& row) {
    for (const auto& [mom, router] : routers)
        if (mom == row.mom) return router.get();
    return nullptr;
}

// In the test namespace (as in the BPF tests): its veth is the second interface some rows route through.
Result<FixtureRouters> load_fixture_routers(const std::vector<testkit::RouterFixture>& rows) {
    TEMPOS_ASSIGN_OR_RETURN(auto second, testkit::ifindex_of(world::test_netns::kVethA));
    FixtureRouters out;
    for (const testkit::RouterFixture& row : rows) {
        if (router_for(out, row) != nullptr) continue;
        TEMPOS_ASSIGN_OR_RETURN(auto router, testkit::load_router_skeleton(row.mom));
        if (Status st = testkit::install_standard_routes(testkit::router_maps(*router), second, row.mom); !st)
            return st.prefixed("fixture routes");
        out.emplace_back(row.mom, std::move(router));
    }
    return out;
}

// ns per packet by row name: single_run_cost_over_ns against the empty program, plus empty_ns (bench/README.md).
Result<nlohmann::ordered_json> time_fixtures(const std::vector<testkit::RouterFixture>& rows,
                                             const FixtureRouters& routers, int empty_fd, double empty_ns,
                                             const ProgOptions& o) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const testkit::RouterFixture& row : rows) {
        const int fd = bpf_program__fd(router_for(routers, row)->progs.tempos_router);
        if (Status st = expect_action(row.name, fd, row.input, row.expected_action, &row.expected_output); !st)
            return st.prefixed("fixture does not behave as the table says");
        const Result<double> ns = single_run_cost_over_ns(fd, empty_fd, row.input, o.fixture_calls);
        if (!ns) return ns.status().prefixed(row.name);
        out[row.name] = round_to(*ns + empty_ns, 2);
    }
    return out;
}

struct Contender {
    const char* name;
    int prog_fd;
    std::uint32_t action;  // on its bench frame
    const std::vector<std::uint8_t>* frame;
    std::function<Status(std::uint64_t calls)> check;  // validates a run afterwards (optional)
    std::vector<double> samples;
};

// Runs are interleaved (ours, thesis, empty, ours, ...) so that load from other processes drifting over time
// affects every program alike; each reports the median of its runs.
Status measure_interleaved(std::vector<Contender>& contenders, const ProgOptions& o) {
    const std::uint64_t calls = (o.iterations + o.batch - 1) / o.batch;
    for (int r = 0; r < o.runs; ++r) {
        for (Contender& c : contenders) {
            if (interrupted()) return Status::error(ErrorCode::internal, "interrupted");
            const Result<double> ns = time_per_run_ns(c.prog_fd, *c.frame, o.iterations, o.batch);
            if (!ns) return ns.status().prefixed(c.name);
            if (Status st = c.check ? c.check(calls) : Status::ok(); !st) return st.prefixed(c.name);
            if (o.verbose) std::fprintf(stderr, "%s run %d: %.3f ns\n", c.name, r + 1, *ns);
            c.samples.push_back(*ns);
        }
    }
    return Status::ok();
}

Result<Report> run_prog(const ProgOptions& o) {
    TEMPOS_RETURN_IF_ERROR(testkit::pin_to_cpu(o.cpu));
    const std::vector<std::uint8_t> frame =
        testkit::bench_event(world::kMomMac, world::kPublisherMac, world::kPublisherIp, world::kMomIp, world::kMomPort,
                             kBenchTopic)
            .build();
    const std::vector<std::uint8_t> frame6 = testkit::bench_event6(world::kMomMac, world::kPublisherMac,
                                                                   world::kPublisherIp6, world::kMomIp6,
                                                                   world::kMomPort, kBenchTopic6)
                                                 .build();
    TEMPOS_RETURN_IF_ERROR(testkit::enter_test_netns());
    const std::vector<testkit::RouterFixture> rows = testkit::router_fixtures();
    TEMPOS_ASSIGN_OR_RETURN(auto fixture_routers, load_fixture_routers(rows));
    TEMPOS_ASSIGN_OR_RETURN(auto loaded, testkit::load_router_skeleton());
    tempos_router* router = loaded.get();
    tempos::xdp::SkeletonPtr<thesis_router> thesis(thesis_router__open(), thesis_router__destroy);
    tempos::xdp::SkeletonPtr<empty_xdp> empty(empty_xdp__open(), empty_xdp__destroy);
    if (!thesis || !empty) return os_error("opening the BPF objects", errno);
    thesis->rodata->redirect_ifindex = 1;  // loopback: BPF_PROG_TEST_RUN does not transmit
    if (int err = thesis_router__load(thesis.get()); err != 0) return os_error("loading thesis_router", -err);
    if (int err = empty_xdp__load(empty.get()); err != 0) return os_error("loading empty_xdp", -err);
    for (const Status& st : {setup_router(router), setup_thesis(thesis.get())})
        if (!st) return st;
    const int router_fd = bpf_program__fd(router->progs.tempos_router);
    const int thesis_fd = bpf_program__fd(thesis->progs.thesis_router);
    const int empty_fd = bpf_program__fd(empty->progs.empty_xdp);
    std::vector<int> held{router_fd, thesis_fd, empty_fd};
    for (const auto& [mom, r] : fixture_routers) held.push_back(bpf_program__fd(r->progs.tempos_router));
    TEMPOS_RETURN_IF_ERROR(hold_in_dispatcher(held, "tbench"));
    // Our program must have taken the routing path on every single repetition, or we timed something else.
    std::map<std::uint8_t, std::uint64_t> redirected_before;  // by topic
    auto every_run_routed = [&](std::uint8_t topic) {
        return [&, topic](std::uint64_t calls) {
            const std::uint64_t got = redirected_on_topic(router, topic) - redirected_before[topic];
            const std::uint64_t expected = calls * (o.batch + 1);
            redirected_before[topic] += got;
            return got == expected ? Status::ok()
                                   : Status::error(ErrorCode::internal, "routed " + std::to_string(got) + " of " +
                                                                            std::to_string(expected) + " runs");
        };
    };
    std::vector<Contender> contenders{
        {"tempos_router", router_fd, XDP_TX, &frame, every_run_routed(kBenchTopic), {}},
        {"thesis_router", thesis_fd, XDP_REDIRECT, &frame, nullptr, {}},
        {"empty_xdp", empty_fd, XDP_TX, &frame, nullptr, {}},
        {"tempos_router_v6", router_fd, XDP_TX, &frame6, every_run_routed(kBenchTopic6), {}}};  // IPv6 event
    for (const Contender& c : contenders)
        TEMPOS_RETURN_IF_ERROR(expect_action(c.name, c.prog_fd, *c.frame, c.action));
    for (const std::uint8_t topic : {kBenchTopic, kBenchTopic6})
        redirected_before[topic] = redirected_on_topic(router, topic);
    TEMPOS_RETURN_IF_ERROR(measure_interleaved(contenders, o));
    const double prog_ns = median(contenders[0].samples);
    const double thesis_ns = median(contenders[1].samples);
    const double empty_ns = median(contenders[2].samples);
    TEMPOS_ASSIGN_OR_RETURN(auto fixtures_ns, time_fixtures(rows, fixture_routers, empty_fd, empty_ns, o));
    Report report;
    report.number("prog_ns", prog_ns, 2)
        .number("prog_ns_v6", median(contenders[3].samples), 2)
        .number("thesis_ns", thesis_ns, 2)
        .number("empty_ns", empty_ns, 2)
        .number("prog_speedup", thesis_ns / prog_ns, 3)
        .raw("fixtures_ns", std::move(fixtures_ns));
    return report;
}

}  // namespace

void register_prog_command(CLI::App& app, int& exit_code) { add_bench(app, "prog", exit_code, run_prog); }

}  // namespace tempos::bench
