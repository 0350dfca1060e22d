#include "prog_command.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <net/if.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dispatcher_hold.hpp"
#include "frames/frame_world.hpp"
#include "frames/router_fixtures.hpp"
#include "empty_xdp.skel.h"
#include "route_table.hpp"
#include "skeleton.hpp"
#include "tempos_router.skel.h"
#include "test_run_timer.hpp"
#include "thesis_router.skel.h"

namespace tempos::bench {

namespace {

struct ProgOptions {
    bool json = false;
    bool verbose = false;
    std::uint64_t iterations = 10'000'000;
    int runs = 5;
    int cpu = -1;
    std::uint32_t batch = 254;
    bool quick = false;
    std::uint64_t fixture_calls = 20'000;
};

namespace world = testkit::world;
constexpr std::uint8_t kBenchTopic = 1;
// Three members for both programs, so both run their round robin.
const world::Subscriber kBenchSubscribers[] = {world::kSubA, world::kSubB, world::kSubC};

// The thesis's map value (bench/thesis_router.bpf.c): 5 IPv4 addresses then 5 MACs, zero padding.
struct ThesisTopicValue {
    std::uint32_t ips[5];
    std::uint8_t macs[5][6];
};
static_assert(sizeof(ThesisTopicValue) == 52, "4-byte aligned like the BPF side: 50 bytes + 2 padding");

std::string setup_router(tempos_router* skel) {
    tempos_route route{};
    // The subscriber port equals the MoM's, so a rewritten frame still matches on the next repetition.
    for (const world::Subscriber& s : kBenchSubscribers)
        route.subs[route.count++] = testkit::endpoint(s.ip, world::kMomPort, s.mac, world::kMomMac);
    tempos::xdp::RouteTable table(bpf_map__fd(skel->maps.topic_routes), bpf_map__fd(skel->maps.topic_counters));
    const tempos::Status st = table.set(kBenchTopic, route);
    return st ? std::string() : st.message();
}

std::string setup_thesis(thesis_router* skel) {
    ThesisTopicValue value{};
    for (std::size_t i = 0; i < std::size(kBenchSubscribers); ++i) {
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

// One run of `frame`; 0 when the program returned `expected` (and, when given, this output frame).
int expect_action(const char* name, int prog_fd, const std::vector<std::uint8_t>& frame, int expected,
                  const std::vector<std::uint8_t>* expected_output = nullptr) {
    std::vector<std::uint8_t> out(frame.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<std::uint32_t>(out.size());
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        std::fprintf(stderr, "%s: bpf_prog_test_run_opts: %s\n", name, std::strerror(errno));
        return 1;
    }
    if (static_cast<int>(opts.retval) != expected) {
        std::fprintf(stderr, "%s: returned action %u on the bench frame, expected %d\n", name, opts.retval, expected);
        return 1;
    }
    out.resize(opts.data_size_out);
    if (expected_output && out != *expected_output) {
        std::fprintf(stderr, "%s: the output frame differs from the fixture's\n", name);
        return 1;
    }
    return 0;
}

// The router fixtures' frames (testing/frames/router_fixtures.hpp), timed as Katran's perf-from-fixture does:
// each row on a router loaded with its constants and the standard routes. One router per distinct constants.
struct FixtureRouters {
    std::vector<testkit::MomConstants> constants;
    std::vector<tempos::xdp::SkeletonPtr<tempos_router>> routers;

    tempos_router* for_row(const testkit::RouterFixture& row) {
        for (std::size_t i = 0; i < constants.size(); ++i)
            if (constants[i] == row.mom) return routers[i].get();
        return nullptr;
    }
};

Result<tempos::xdp::SkeletonPtr<tempos_router>> load_router(const testkit::MomConstants& mom) {
    tempos::xdp::SkeletonPtr<tempos_router> router(tempos_router__open(), tempos_router__destroy);
    if (!router)
        return Status::error(ErrorCode::system_error, std::string("opening tempos_router: ") + std::strerror(errno));
    tempos::xdp::set_mom_constants(*router, mom.port, mom.ip);
    if (int err = tempos_router__load(router.get()); err != 0)
        return Status::error(ErrorCode::system_error, std::string("loading tempos_router: ") + std::strerror(-err));
    return router;
}

Result<FixtureRouters> load_fixture_routers(const std::vector<testkit::RouterFixture>& rows) {
    FixtureRouters out;
    for (const testkit::RouterFixture& row : rows) {
        if (out.for_row(row) != nullptr) continue;
        auto router = load_router(row.mom);
        if (!router) return router.status();
        out.constants.push_back(row.mom);
        out.routers.push_back(std::move(*router));
    }
    return out;
}

// After hold_in_dispatcher the bench is in a namespace of its own whose veths can stand for the second
// interface some rows route through; 0 if there is none.
std::uint32_t some_interface_but_loopback() {
    std::uint32_t found = 0;
    if (struct if_nameindex* list = if_nameindex()) {
        for (struct if_nameindex* i = list; i->if_index != 0 && found == 0; ++i)
            if (std::strcmp(i->if_name, "lo") != 0) found = i->if_index;
        if_freenameindex(list);
    }
    return found;
}

struct FixtureTime {
    std::string name;
    double ns;
};

// A routed row rewrites its frame towards a subscriber's port, so repeated runs would time the pass path:
// each row is timed on single runs against the empty program (single_run_cost_over_ns), plus the empty
// program's own per-run cost, which makes the figures comparable with prog_ns.
Result<std::vector<FixtureTime>> time_fixtures(const std::vector<testkit::RouterFixture>& rows,
                                               FixtureRouters& routers, int empty_fd, double empty_ns,
                                               const ProgOptions& o) {
    const std::uint32_t second_interface = some_interface_but_loopback();
    for (auto& router : routers.routers) {
        const testkit::RouterMaps maps{bpf_map__fd(router->maps.topic_routes), bpf_map__fd(router->maps.topic_counters),
                                       bpf_map__fd(router->maps.egress_ports), bpf_map__fd(router->maps.fanout_routes)};
        if (Status st = testkit::install_standard_routes(maps, second_interface); !st)
            return st.prefixed("fixture routes");
    }
    std::vector<FixtureTime> out;
    for (const testkit::RouterFixture& row : rows) {
        if (row.needs_second_interface && second_interface == 0) continue;
        const int fd = bpf_program__fd(routers.for_row(row)->progs.tempos_router);
        if (expect_action(row.name.c_str(), fd, row.input, row.expected_action, &row.expected_output) != 0)
            return Status::error(ErrorCode::internal, "fixture " + row.name + " does not behave as the table says");
        std::string error;
        const double ns = single_run_cost_over_ns(fd, empty_fd, row.input, o.fixture_calls, error);
        if (!error.empty()) return Status::error(ErrorCode::system_error, row.name + ": " + error);
        out.push_back({row.name, ns + empty_ns});
    }
    return out;
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
            std::string error;
            const double ns = time_per_run_ns(c.prog_fd, frame, settings, error);
            if (ns < 0) return std::string(c.name) + ": " + error;
            if (c.check) {
                if (std::string err = c.check(calls); !err.empty()) return std::string(c.name) + ": " + err;
            }
            if (o.verbose) std::fprintf(stderr, "%s run %d: %.3f ns\n", c.name, r + 1, ns);
            c.samples.push_back(ns);
        }
    }
    return {};
}

int run_prog(const ProgOptions& o) {
    if (std::string err = pin_to_cpu(o.cpu); !err.empty()) {
        std::fprintf(stderr, "tempos-bench prog: %s\n", err.c_str());
        return 1;
    }
    if (o.batch < 2 || o.batch > 254) {
        std::fprintf(stderr, "tempos-bench prog: --batch must be 2..254 (the frame's TTL budget)\n");
        return 1;
    }
    const std::vector<std::uint8_t> frame =
        testkit::bench_event(world::kMomMac, world::kPublisherMac, world::kPublisherIp, world::kMomIp,
                             world::kMomPort, kBenchTopic).build();
    const std::vector<testkit::RouterFixture> rows = testkit::router_fixtures();
    Result<FixtureRouters> fixture_routers = load_fixture_routers(rows);
    Result<tempos::xdp::SkeletonPtr<tempos_router>> loaded = load_router({});
    for (const Status& st : {fixture_routers.status(), loaded.status()}) {
        if (!st) {
            std::fprintf(stderr, "tempos-bench prog: %s\n", st.message().c_str());
            return 1;
        }
    }
    tempos::xdp::SkeletonPtr<tempos_router> router = std::move(*loaded);
    tempos::xdp::SkeletonPtr<thesis_router> thesis(thesis_router__open(), thesis_router__destroy);
    tempos::xdp::SkeletonPtr<empty_xdp> empty(empty_xdp__open(), empty_xdp__destroy);
    if (!thesis || !empty) {
        std::fprintf(stderr, "tempos-bench prog: opening the BPF objects: %s\n", std::strerror(errno));
        return 1;
    }
    thesis->rodata->redirect_ifindex = 1;  // loopback: BPF_PROG_TEST_RUN does not transmit
    if (int err = thesis_router__load(thesis.get()); err != 0) {
        std::fprintf(stderr, "tempos-bench prog: loading thesis_router: %s\n", std::strerror(-err));
        return 1;
    }
    if (int err = empty_xdp__load(empty.get()); err != 0) {
        std::fprintf(stderr, "tempos-bench prog: loading empty_xdp: %s\n", std::strerror(-err));
        return 1;
    }
    for (const std::string& err : {setup_router(router.get()), setup_thesis(thesis.get())}) {
        if (!err.empty()) {
            std::fprintf(stderr, "tempos-bench prog: %s\n", err.c_str());
            return 1;
        }
    }
    const int router_fd = bpf_program__fd(router->progs.tempos_router);
    const int thesis_fd = bpf_program__fd(thesis->progs.thesis_router);
    const int empty_fd = bpf_program__fd(empty->progs.empty_xdp);
    std::vector<int> held{router_fd, thesis_fd, empty_fd};
    for (auto& r : fixture_routers->routers) held.push_back(bpf_program__fd(r->progs.tempos_router));
    if (std::string err = hold_in_dispatcher(held); !err.empty()) {
        std::fprintf(stderr, "tempos-bench prog: %s\n", err.c_str());
        return 1;
    }
    if (expect_action("tempos_router", router_fd, frame, XDP_TX) ||
        expect_action("thesis_router", thesis_fd, frame, XDP_REDIRECT) ||
        expect_action("empty_xdp", empty_fd, frame, XDP_TX))
        return 1;

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
    if (std::string err = measure_interleaved(contenders, frame, o); !err.empty()) {
        std::fprintf(stderr, "tempos-bench prog: %s\n", err.c_str());
        return 1;
    }
    const double prog_ns = median(contenders[0].samples);
    const double thesis_ns = median(contenders[1].samples);
    const double empty_ns = median(contenders[2].samples);
    const double speedup = thesis_ns / prog_ns;
    const Result<std::vector<FixtureTime>> fixtures = time_fixtures(rows, *fixture_routers, empty_fd, empty_ns, o);
    if (!fixtures) {
        std::fprintf(stderr, "tempos-bench prog: %s\n", fixtures.message().c_str());
        return 1;
    }
    if (o.json) {
        std::string fixtures_json;
        for (const FixtureTime& f : *fixtures) {
            char value[64];
            std::snprintf(value, sizeof(value), "%.2f", f.ns);
            fixtures_json += (fixtures_json.empty() ? "\"" : ", \"") + f.name + "\": " + value;
        }
        std::printf("{\"prog_ns\": %.2f, \"thesis_ns\": %.2f, \"empty_ns\": %.2f, \"prog_speedup\": %.3f, "
                    "\"fixtures_ns\": {%s}}\n",
                    prog_ns, thesis_ns, empty_ns, speedup, fixtures_json.c_str());
    } else {
        std::printf("tempos_router  %7.2f ns/packet\nthesis_router  %7.2f ns/packet\nempty_xdp      %7.2f ns/packet\n"
                    "speedup (thesis/ours) %.3f   [median of %d runs of >= %llu repetitions, batch %u]\n",
                    prog_ns, thesis_ns, empty_ns, speedup, o.runs,
                    static_cast<unsigned long long>(o.iterations), o.batch);
        std::printf("router fixtures, ns/packet [single runs: interquartile mean of %llu differences to empty_xdp, "
                    "+ empty_ns]\n",
                    static_cast<unsigned long long>(o.fixture_calls));
        for (const FixtureTime& f : *fixtures) std::printf("  %-36s %7.2f\n", f.name.c_str(), f.ns);
    }
    return 0;
}

}  // namespace

void register_prog_command(CLI::App& app, const char* name, int& exit_code) {
    auto options = std::make_shared<ProgOptions>();
    CLI::App* cmd = app.add_subcommand(
        name, "Per-packet cost (BPF_PROG_TEST_RUN) of our XDP router, the thesis's program and an empty one");
    cmd->add_flag("--json", options->json, "Print one JSON object");
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
    cmd->add_option("--fixture-calls", options->fixture_calls, "Single-run pairs per router fixture")
        ->check(CLI::Range(static_cast<std::uint64_t>(1), static_cast<std::uint64_t>(1) << 32))
        ->capture_default_str();
    cmd->add_flag("--quick", options->quick,
                  "Smoke run: 1e5 repetitions, one run, 1000 pairs per fixture (not a measurement)");
    cmd->callback([options, &exit_code] {
        if (options->quick) {
            options->iterations = 100'000;
            options->runs = 1;
            options->fixture_calls = 1000;
        }
        exit_code = run_prog(*options);
    });
}

}  // namespace tempos::bench
