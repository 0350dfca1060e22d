// Differential libFuzzer target of the XDP topic router: every input is an Ethernet frame, run through the real
// program (bpf/router.bpf.c, loaded from its skeleton, BPF_PROG_TEST_RUN) and through the reference model of its
// rules (router_model.hpp), under five configurations (native/generic, cpumap off/on, a MoM address or 0.0.0.0,
// arriving on lo or on the veth that is also an egress port). Both are given the same fixed world: the fixture
// table's standard routes, limits and local addresses (testing/frames/router_fixtures.hpp) and three topics of
// the fuzzer's own (install_extra_routes). Any difference in the verdict, in any output byte or in the counters
// the frame moves aborts with both sides printed, so libFuzzer keeps the input. docs/fuzzing.md.
//
// Round-robin state is reset per input: the counters of the slots compared (which hold the router's per-CPU
// cursor) are zeroed before each input, the model's cursors too, and the process stays on one CPU. A frame the
// model routes to a group of n > 1 members is run n + 1 times in a row, so each member and the wrap-around are
// compared step by step. An input thus reproduces alone.
//
// Environment: TEMPOS_FUZZ_SEEDS=DIR writes the fixture table's input frames into DIR at start (the seed
// corpus; scripts/fuzz.sh passes DIR as a corpus directory). Without the privileges to load BPF programs and
// create a namespace the target exits 77 (ctest: skipped), or 1 when TEMPOS_REQUIRE_PRIVILEGED=1.
// TEMPOS_FUZZ_MODEL_FAULT=1 flips the last byte of every frame the model routes: the run must then fail (the
// ctest that shows the comparison can fail).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frames/frame_world.hpp"
#include "frames/router_fixtures.hpp"
#include "best_effort_table.hpp"
#include "route_table.hpp"
#include "router_harness.hpp"  // tests/bpf: load_router, run_xdp, counters_text, hex_dump
#include "router_model.hpp"
#include "fuzz_target.hpp"

namespace {

using namespace tempos;
using namespace tempos::testkit::world;
using fuzz::Counter;
using fuzz::Member;
using fuzz::ModelResult;
using fuzz::ModelWorld;
using fuzz::RouterModel;
using fuzz::Verdict;
using testkit::Bytes;

struct Config {
    const char* name;
    testkit::MomConstants mom;
    bool ingress_veth;  // the frame arrives on the test namespace's veth instead of the test run's default (lo)
};
const Config kConfigs[] = {
    {"native", {kMomPort, kMomIp, false, 0}, false},
    {"generic", {kMomPort, kMomIp, true, 0}, false},
    {"native, cpumap, mom_ipv4 0.0.0.0, mom_ipv6 ::", {kMomPort, {0, 0, 0, 0}, false, 1, {}}, false},
    {"generic, cpumap, mom_ipv4 0.0.0.0, mom_ipv6 ::", {kMomPort, {0, 0, 0, 0}, true, 1, {}}, false},
    {"native, arriving on the veth", {kMomPort, kMomIp, false, 0}, true},
};

// Besides the standard routes, three the fuzzer adds: a group of the most members a route holds, a member
// without MAC whose neighbour the kernel knows (a permanent entry on the veth's subnet), and a strict topic over
// its rate limit.
constexpr std::uint8_t kTopicSixteen = 13;
constexpr std::uint8_t kTopicNeighbour = 14;
constexpr std::uint8_t kTopicStrictPoliced = 15;
const Subscriber kNeighbour{{10, 77, 0, 2}, 7100, {0x02, 0xcc, 0, 0, 0, 0x02}};
const std::vector<Subscriber> kSixteen = [] {
    std::vector<Subscriber> subs;
    for (std::uint8_t i = 0; i < TEMPOS_MAX_SUBSCRIBERS; ++i)
        subs.push_back({{10, 0, 2, static_cast<std::uint8_t>(i + 1)}, static_cast<std::uint16_t>(7001 + i),
                        {0x02, 0xdd, 0, 0, 0, i}});
    return subs;
}();

Status install_extra_routes(const testkit::RouterMaps& maps) {
    tempos_route sixteen{}, neighbour{};
    for (const Subscriber& s : kSixteen) sixteen.subs[sixteen.count++] = testkit::endpoint(s.ip, s.port, s.mac, kMomMac);
    neighbour.subs[neighbour.count++] = testkit::endpoint(kNeighbour.ip, kNeighbour.port, std::nullopt, {});
    xdp::RouteTable routes(maps.topic_routes, maps.topic_counters);
    if (Status st = routes.set(kTopicSixteen, sixteen); !st) return st;
    if (Status st = routes.set(kTopicNeighbour, neighbour); !st) return st;
    tempos_route policed{};
    policed.subs[policed.count++] = testkit::endpoint(kSubB.ip, kSubB.port, kSubB.mac, kMomMac);
    if (Status st = routes.set(kTopicStrictPoliced, policed); !st) return st;
    for (const std::uint8_t topic : {kTopicSixteen, kTopicNeighbour, kTopicStrictPoliced})
        if (Status st = xdp::set_topic_class(maps.best_effort, topic, true); !st) return st;
    return testkit::install_spent_topic_limit(maps, kTopicStrictPoliced);
}

// The standard routes (install_standard_routes) in the model's terms; `veth` is the second interface that
// install_standard_routes puts in egress_ports and gives kTopicOtherNic's member.
ModelWorld world_for(const Config& config, std::uint32_t veth, const testkit::MacAddr& veth_mac) {
    const testkit::MomConstants& mom = config.mom;
    ModelWorld w;
    w.mom_port = mom.port;
    w.mom_ip = mom.ip;
    w.mom_ip6 = mom.ip6;
    w.generic = mom.generic;
    w.best_effort_cpumap = mom.best_effort_cpus > 0;
    w.ingress_ifindex = config.ingress_veth ? veth : kLoopbackIfindex;
    w.egress_ports = {veth};
    w.device_mtu = {{veth, kSecondInterfaceMtu}};
    w.egress_vlans = {{kVlanOnIngressIfindex, {kLoopbackIfindex, testkit::PacketBuilder::kVlan8021Q, kEgressVid}},
                      {kVlanOnSecondIfindex, {veth, testkit::PacketBuilder::kVlan8021AD, kSecondEgressVid}}};
    const xdp::LocalDestinations local = testkit::standard_local_destinations();
    w.local_macs.insert(local.macs.begin(), local.macs.end());
    w.local_ipv4.insert(local.ipv4.begin(), local.ipv4.end());
    w.local_ipv6.insert(local.ipv6.begin(), local.ipv6.end());
    const auto member = [](const Subscriber& s, std::uint32_t ifindex = 0, const testkit::MacAddr& src = kMomMac) {
        return Member{s.ip, s.port, s.mac, src, ifindex};
    };
    w.routes[kTopicSingle] = {member(kSubA)};
    w.routes[kTopicThree] = {member(kSubA), member(kSubB), member(kSubC)};
    w.routes[kTopicFib] = {Member{kUnroutedIp, 7000, std::nullopt, {}, 0}};
    w.routes[kTopicOtherNic] = {member(kSubFar, veth, kOtherNicMac)};
    w.routes[kTopicNoEgress] = {member(kSubFar, kMissingIfindex, kOtherNicMac)};
    w.routes[kTopicIngressNic] = {member(kSubA, kLoopbackIfindex)};
    w.routes[kTopicOnes] = {member(kSubOnes)};
    w.routes[kTopicVlanIngressNic] = {member(kSubA, kVlanOnIngressIfindex)};
    w.routes[kTopicVlanOtherNic] = {member(kSubFar, kVlanOnSecondIfindex, kOtherNicMac)};
    w.routes[kTopicFibSecondNic] = {Member{kSecondNicNeighbourIp, 7000, std::nullopt, {}, veth}};
    for (const Subscriber& s : kSixteen) w.routes[kTopicSixteen].push_back(member(s));
    w.routes[kTopicNeighbour] = {Member{kNeighbour.ip, kNeighbour.port, std::nullopt, {}, 0}};
    w.routes[kTopicStrictPoliced] = {member(kSubB)};
    const auto member6 = [](const Subscriber6& s, std::uint32_t ifindex = 0) {
        return Member{{}, s.port, s.mac, kMomMac, ifindex, s.ip};
    };
    w.routes[kTopicSingle6] = {member6(kSubA6)};
    w.routes[kTopicTwo6] = {member6(kSubA6), member6(kSubB6)};
    w.routes[kTopicFib6] = {Member{{}, 7000, std::nullopt, {}, 0, kUnroutedIp6}};
    w.routes[kTopicOnes6] = {member6(kSubOnes6)};
    w.routes[kTopicVlanIngressNic6] = {member6(kSubA6, kVlanOnIngressIfindex)};
    // Observed (fuzzer): the kernel's forwarding lookup answers for lookups from the veth (forwarding on), not lo,
    // and refuses datagrams over the veth's MTU (1500) before it looks at the neighbour.
    w.fib[kNeighbour.ip] = {kNeighbour.mac, veth_mac, veth, veth, kSecondInterfaceMtu};
    w.fib[kSecondNicNeighbourIp] = {std::nullopt, veth_mac, veth, veth, kSecondInterfaceMtu};
    w.zero_member_routes = {kTopicBadRoute};
    w.fanout_topics = {kTopicFanout};
    w.strict_topics = {kTopicSingle,     kTopicThree,     kTopicFib,           kTopicOtherNic,
                       kTopicNoEgress,   kTopicIngressNic, kTopicOnes,         kTopicBadRoute,
                       kTopicFanout,     kTopicStrictSocket, kTopicSixteen,    kTopicNeighbour,
                       kTopicStrictPoliced, kTopicVlanIngressNic, kTopicVlanOtherNic, kTopicFibSecondNic,
                       kTopicSingle6,    kTopicTwo6,      kTopicFib6,          kTopicOnes6,
                       kTopicVlanIngressNic6};
    w.spent_topics = {kTopicPoliced, kTopicStrictPoliced};
    w.spent_publishers = {kPolicedPublisherIp};
    w.spent_publishers6 = {kPolicedPublisherIp6};
    return w;
}

struct Target {
    const Config* config;
    std::unique_ptr<test::LoadedRouter> router;
    std::uint32_t ingress = 0;  // 0: the test run's default
    std::unique_ptr<RouterModel> model;
};
std::vector<Target>* targets = nullptr;
int possible_cpus = 0;
bool model_fault = false;
// TEMPOS_FUZZ_RULES=1: how often each of the model's rules decided, per configuration, printed at exit (what the
// corpus reaches).
std::map<std::string, std::uint64_t>* rule_counts = nullptr;

[[noreturn]] void fatal(const std::string& why) { fuzz::fatal("router_fuzzer", why); }
[[noreturn]] void unprivileged(const std::string& why) { fuzz::unprivileged("router_fuzzer", why); }

// The counters a run of `results` must have left in slot `slot`.
tempos_topic_counters expected_counters(const std::vector<ModelResult>& results, std::uint32_t slot,
                                        std::size_t frame_len) {
    tempos_topic_counters c{};
    for (const ModelResult& r : results) {
        if (r.slot != slot) continue;
        switch (r.counter) {
            case Counter::redirected: ++c.redirected_packets; c.redirected_bytes += frame_len; break;
            case Counter::aborted: ++c.aborted; break;
            case Counter::passed: ++c.passed[r.reason]; break;
            case Counter::best_effort_offered: ++c.best_effort_offered; break;
            case Counter::policed: ++c.policed[r.reason]; break;
        }
    }
    return c;
}

void zero_slot(const Target& t, std::uint32_t slot) {
    const std::vector<tempos_topic_counters> zeros(static_cast<std::size_t>(possible_cpus));
    if (bpf_map_update_elem(t.router->maps().topic_counters, &slot, zeros.data(), BPF_ANY) != 0)
        fatal("zeroing counters slot " + std::to_string(slot) + ": " + std::strerror(errno));
}

tempos_topic_counters read_slot(const Target& t, std::uint32_t slot) {
    const Result<tempos_topic_counters> c = t.router->routes.read_counters(slot);
    if (!c) fatal(c.message());
    return *c;
}

[[noreturn]] void difference(const Target& t, const Bytes& frame, std::size_t step, const std::string& what,
                             const std::string& router, const std::string& model, const ModelResult& m) {
    const std::string slot = std::to_string(m.slot);
    fuzz::report_difference("router_fuzzer: the router and its model differ", t.config->name, step, what, "router",
                            router, model,
                            m.why + " (slot " + slot + ")\nrouter's counters so far: slot " + slot + ": " +
                                test::counters_text(read_slot(t, m.slot)) + "; no-topic slot: " +
                                test::counters_text(read_slot(t, TEMPOS_NO_TOPIC_SLOT)),
                            frame.size(), test::hex_dump(frame));
}

void write_seeds(const char* dir) {
    for (const testkit::RouterFixture& row : testkit::router_fixtures())
        fuzz::write_seed("router_fuzzer", dir, row.name, row.input);
}

void start() {
    rule_counts = fuzz::rule_counts_from_env();
    const char* fault = std::getenv("TEMPOS_FUZZ_MODEL_FAULT");
    model_fault = fault != nullptr && std::string(fault) == "1";
    const fuzz::FuzzNamespace ns = fuzz::enter_fuzz_namespace("router_fuzzer", false);
    possible_cpus = ns.possible_cpus;
    targets = new std::vector<Target>;
    for (const Config& config : kConfigs) {
        Result<test::LoadedRouter> router = test::load_router(config.mom);
        if (!router) unprivileged(router.message());
        Target t{&config, std::make_unique<test::LoadedRouter>(std::move(*router))};
        const testkit::RouterMaps maps = t.router->maps();
        if (Status st = testkit::install_standard_routes(maps, ns.veth, config.mom); !st)
            fatal(std::string(config.name) + ": installing the standard routes: " + st.message());
        if (Status st = install_extra_routes(maps); !st)
            fatal(std::string(config.name) + ": installing the fuzzer's routes: " + st.message());
        t.ingress = config.ingress_veth ? ns.veth : 0;
        t.model = std::make_unique<RouterModel>(world_for(config, ns.veth, ns.veth_mac));
        targets->push_back(std::move(t));
    }
}

int run_input(const Bytes& frame) {
    for (Target& t : *targets) {
        RouterModel& model = *t.model;
        const std::uint32_t none = TEMPOS_NO_TOPIC_SLOT;
        // The slot to compare is the one the model names: a first model run finds it, then both start afresh.
        model.reset();
        const ModelResult first = model.run(frame);
        model.reset();
        zero_slot(t, first.slot);
        if (first.slot != none) zero_slot(t, none);

        const std::size_t group = first.counter == Counter::redirected ? model.world().routes[first.slot].size() : 1;
        const std::size_t runs = group > 1 ? group + 1 : 1;
        std::vector<ModelResult> results;
        for (std::size_t step = 0; step < runs; ++step) {
            ModelResult m = model.run(frame);
            if (model_fault && m.counter == Counter::redirected) m.output.back() ^= 1;  // the deliberate fault
            const Result<test::XdpRun> run = test::run_xdp(t.router->prog_fd(), frame, t.ingress);
            if (!run) fatal(std::string(t.config->name) + ": " + run.message());
            fuzz::compare_run(run->action, static_cast<int>(m.verdict), run->output, m.output, test::action_name,
                              [&](const char* what, const std::string& router, const std::string& model) {
                                  difference(t, frame, step, what, router, model, m);
                              });
            if (rule_counts) ++(*rule_counts)[std::string(t.config->name) + ": " + m.why];
            results.push_back(std::move(m));
        }
        for (const std::uint32_t slot : {first.slot, none}) {
            const tempos_topic_counters want = expected_counters(results, slot, frame.size());
            const tempos_topic_counters got = read_slot(t, slot);
            if (test::counters_text(got) != test::counters_text(want))
                difference(t, frame, runs - 1, "counters of slot " + std::to_string(slot), test::counters_text(got),
                           test::counters_text(want), results.back());
            if (first.slot == none) break;
        }
    }
    return 0;
}

}  // namespace

const tempos::fuzz::FuzzTarget tempos::fuzz::kFuzzTarget{write_seeds, start, run_input};
