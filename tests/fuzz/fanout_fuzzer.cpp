// Differential libFuzzer target of the TC fan-out program: every input is an Ethernet frame, run through the real
// program (bpf/fanout.bpf.c, loaded from its skeleton, BPF_PROG_TEST_RUN) and through the reference model of its
// rules (fanout_model.hpp), under three configurations (a MoM address, 0.0.0.0 and ::, and the skb marked as a GSO
// aggregate), over IPv4 and IPv6 topics. The skb enters as if received on the test namespace's veth; the clones the program sends really
// leave through it and are captured on its peer (AF_PACKET), up to a marker frame sent after each run, so every
// clone is compared byte for byte without waiting for frames that may never come; the last group's copy is the
// program's output (a test run does not perform the final redirect). The verdict, the output, every clone and
// the counters of the frame's topic and of its 16 groups are compared; a difference aborts with both sides
// printed, so libFuzzer keeps the input. docs/fuzzing.md.
//
// Round-robin state is reset per input (the topic's group counters, which hold the per-CPU cursors, are zeroed,
// the model's cursors too, and the process stays on one CPU). A frame the model fans out runs (largest group + 1)
// times in a row, so each member and the wrap-around are compared. An input thus reproduces alone.
//
// Environment: TEMPOS_FUZZ_SEEDS=DIR writes the seed corpus into DIR at start (the fan-out tests' frames,
// testing/frames/fanout_frames.hpp, IPv4 and IPv6, for each topic of the world). Without the privileges to load BPF programs and
// create a namespace the target exits 77 (ctest: skipped), or 1 when TEMPOS_REQUIRE_PRIVILEGED=1.
// TEMPOS_FUZZ_MODEL_FAULT=1 flips the last byte of every copy the model redirects, =clone that of every first clone
// it sends: the run must then fail (the ctests that show both comparisons can fail).
// TEMPOS_FUZZ_RULES=1 prints at exit how often each of the model's rules decided.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fanout_harness.hpp"  // tests/bpf: load_fanout, run_tc, FrameCapture
#include "fanout_model.hpp"
#include "fuzz_target.hpp"
#include "frames/fanout_frames.hpp"
#include "frames/frame_world.hpp"
#include "frames/router_fixtures.hpp"  // endpoint
#include "topology/private_netns.hpp"

namespace {

using namespace tempos;
using namespace tempos::testkit::world;
using fuzz::Member;
using fuzz::FanoutModel;
using fuzz::FanoutResult;
using fuzz::FanoutWorld;
using fuzz::TcVerdict;
using testkit::Bytes;
using testkit::Ipv4Addr;
using testkit::Ipv6Addr;
using testkit::MacAddr;
using testkit::world::test_netns::kVethA;
using testkit::world::test_netns::kVethB;

struct Config {
    const char* name;
    testkit::MomConstants mom;
    std::uint32_t gso_segs;
};
const Config kConfigs[] = {
    {"mom_ipv4 set", {kMomPort, kMomIp}, 0},
    {"mom_ipv4 0.0.0.0, mom_ipv6 ::", {kMomPort, {0, 0, 0, 0}, false, 0, {}}, 0},
    {"GSO aggregate", {kMomPort, kMomIp}, 2},
};

// The world's topics. kTopicGroups is the fan-out tests' topic (their frames are the seeds).
constexpr std::uint8_t kTopicGroups = 3;      // 4 groups of 2, 2, 1, 3 members with MACs
constexpr std::uint8_t kTopicNotFanout = 4;   // not in fanout_routes
constexpr std::uint8_t kTopicNeighbour = 5;   // a member with MAC, a member without whose neighbour is known
constexpr std::uint8_t kTopicNoNeighbour = 6; // a member without MAC, no neighbour; a member with MAC
constexpr std::uint8_t kTopicNoRoute = 7;     // a member without MAC and no route; a member with MAC
constexpr std::uint8_t kTopicSixteen = 8;     // 16 groups of one
constexpr std::uint8_t kTopicClone = 9;       // via a missing ifindex (the clone fails), via the veth, all-ones
constexpr std::uint8_t kTopicBigGroup = 10;   // a group of 16 (round-robin wrap), a group of 1
constexpr std::uint8_t kTopicBadRoute = 11;   // a slot with group size 17, written bypassing FanoutTable
constexpr std::uint8_t kTopicOneGroup = 12;   // one group of 2: no clone, the original redirected
// IPv6 (docs/ipv6.md): one family per topic.
constexpr std::uint8_t kTopicGroups6 = 13;     // 3 groups of 2, 1, 3 IPv6 members with MACs
constexpr std::uint8_t kTopicNeighbour6 = 14;  // an IPv6 member with MAC, one without whose NDP neighbour is known
constexpr std::uint8_t kTopicNoRoute6 = 15;    // an IPv6 member without MAC and no route; one with MAC
constexpr std::uint8_t kTopicClone6 = 16;      // via a missing ifindex (the clone fails), all-ones
const std::uint8_t kSeedTopics[] = {kTopicGroups,   kTopicNotFanout, kTopicNeighbour, kTopicNoNeighbour,
                                    kTopicNoRoute,  kTopicSixteen,   kTopicClone,     kTopicBigGroup,
                                    kTopicBadRoute, kTopicOneGroup,  kTopicGroups6,   kTopicNeighbour6,
                                    kTopicNoRoute6, kTopicClone6};

const Ipv4Addr kNeighbourIp{10, 77, 0, 2};  // on the veth's subnet, a permanent neighbour
const MacAddr kNeighbourMac{0x02, 0xcc, 0, 0, 0, 0x02};
const Ipv4Addr kNoNeighbourIp = kSecondNicNeighbourIp;  // on the veth's subnet, never resolved

const Ipv6Addr kNeighbourIp6{0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02};  // fuzz_target.hpp
const MacAddr kNeighbourMac6{0x02, 0xcc, 0, 0, 0, 0x12};

Member member(std::uint8_t group, std::uint8_t index, std::uint32_t ifindex = 0) {
    return {{10, 0, group, static_cast<std::uint8_t>(10 + index)}, static_cast<std::uint16_t>(5000 + 100 * group + index),
            MacAddr{0x02, 0xaa, 0, 0, group, index}, kMomMac, ifindex};
}
Member no_mac(const Ipv4Addr& ip, std::uint16_t port) { return {ip, port, std::nullopt, {}, 0}; }
Member member6(std::uint8_t group, std::uint8_t index, std::uint32_t ifindex = 0) {
    Member m = member(group, index, ifindex);
    m.ip6 = Ipv6Addr{0x20, 0x01, 0x0d, 0xb8, 0, 0x10, 0, group, 0, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(10 + index)};
    m.ip = {};
    return m;
}
Member no_mac6(const Ipv6Addr& ip, std::uint16_t port) { return {{}, port, std::nullopt, {}, 0, ip}; }

FanoutWorld world_for(const Config& config, std::uint32_t veth, const MacAddr& veth_mac) {
    FanoutWorld w;
    w.mom_port = config.mom.port;
    w.mom_ip = config.mom.ip;
    w.mom_ip6 = config.mom.ip6;
    w.ingress_ifindex = veth;
    w.gso_segs = config.gso_segs;
    const xdp::LocalDestinations local = testkit::standard_local_destinations();
    w.local_macs.insert(local.macs.begin(), local.macs.end());
    w.local_ipv4.insert(local.ipv4.begin(), local.ipv4.end());
    w.local_ipv6.insert(local.ipv6.begin(), local.ipv6.end());
    const std::vector<std::uint32_t> sizes{2, 2, 1, 3};
    for (std::uint8_t g = 0; g < sizes.size(); ++g) {
        w.routes[kTopicGroups].emplace_back();
        for (std::uint8_t i = 0; i < sizes[g]; ++i) w.routes[kTopicGroups].back().push_back(member(g, i));
    }
    w.routes[kTopicNeighbour] = {{member(0, 0)}, {no_mac(kNeighbourIp, 7100)}};
    w.routes[kTopicNoNeighbour] = {{no_mac(kNoNeighbourIp, 7200)}, {member(1, 0)}};
    w.routes[kTopicNoRoute] = {{no_mac(kUnroutedIp, 7300)}, {member(1, 0)}};
    for (std::uint8_t g = 0; g < TEMPOS_MAX_FANOUT_GROUPS; ++g) w.routes[kTopicSixteen].push_back({member(g, 0)});
    w.routes[kTopicClone] = {{member(0, 0, kMissingIfindex)},
                             {member(1, 0, veth)},
                             {Member{kSubOnes.ip, kSubOnes.port, kSubOnes.mac, kMomMac, 0}}};
    w.routes[kTopicBigGroup] = {{}, {member(1, 0)}};
    for (std::uint8_t i = 0; i < TEMPOS_MAX_SUBSCRIBERS; ++i) w.routes[kTopicBigGroup][0].push_back(member(0, i));
    w.routes[kTopicOneGroup] = {{member(0, 0), member(0, 1)}};
    const std::vector<std::uint32_t> sizes6{2, 1, 3};
    for (std::uint8_t g = 0; g < sizes6.size(); ++g) {
        w.routes[kTopicGroups6].emplace_back();
        for (std::uint8_t i = 0; i < sizes6[g]; ++i) w.routes[kTopicGroups6].back().push_back(member6(g, i));
    }
    w.routes[kTopicNeighbour6] = {{member6(0, 0)}, {no_mac6(kNeighbourIp6, 7400)}};
    w.routes[kTopicNoRoute6] = {{no_mac6(kUnroutedIp6, 7500)}, {member6(1, 0)}};
    w.routes[kTopicClone6] = {{member6(0, 0, kMissingIfindex)},
                              {Member{{}, kSubOnes6.port, kSubOnes6.mac, kMomMac, 0, kSubOnes6.ip}}};
    w.fib6[kNeighbourIp6] = {kNeighbourMac6, veth_mac, veth, veth, kSecondInterfaceMtu};
    w.bad_routes = {kTopicBadRoute};
    w.fib[kNeighbourIp] = {kNeighbourMac, veth_mac, veth, veth, kSecondInterfaceMtu};
    w.fib[kNoNeighbourIp] = {std::nullopt, veth_mac, veth, veth, kSecondInterfaceMtu};
    // The veth's peer takes frames up to its MTU plus the Ethernet header and one VLAN tag.
    w.devices[veth] = kSecondInterfaceMtu + 14 + 4;
    return w;
}

[[noreturn]] void fatal(const std::string& why) { fuzz::fatal("fanout_fuzzer", why); }
[[noreturn]] void unprivileged(const std::string& why) { fuzz::unprivileged("fanout_fuzzer", why); }

// The world's routes in the program's maps.
Status install_routes(test::LoadedFanout& fanout, const FanoutWorld& w) {
    for (const auto& [topic, groups] : w.routes) {
        std::vector<tempos_route> routes;
        for (const std::vector<Member>& group : groups) {
            tempos_route route{};
            for (const Member& m : group)
                route.subs[route.count++] = m.ip6 ? testkit::endpoint(*m.ip6, m.port, m.mac, m.src_mac, m.ifindex)
                                                  : testkit::endpoint(m.ip, m.port, m.mac, m.src_mac, m.ifindex);
            routes.push_back(route);
        }
        if (Status st = fanout.table.set(topic, routes); !st) return st;
    }
    for (const std::uint8_t topic : w.bad_routes) {
        const int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tempos_fo_bad", sizeof(std::uint32_t),
                                         sizeof(tempos_fanout_member), TEMPOS_FANOUT_SLOTS, nullptr);
        if (inner < 0) return Status::error(ErrorCode::system_error, std::string("bad route map: ") + std::strerror(errno));
        tempos_fanout_member bad{};
        bad.ep = testkit::endpoint(kSubA.ip, kSubA.port, kSubA.mac, kMomMac);
        bad.group_size = TEMPOS_MAX_SUBSCRIBERS + 1;
        const std::uint32_t zero = 0, key = topic, inner_fd = static_cast<std::uint32_t>(inner);
        const bool ok = bpf_map_update_elem(inner, &zero, &bad, BPF_ANY) == 0 &&
                        bpf_map_update_elem(fanout.routes_fd(), &key, &inner_fd, BPF_ANY) == 0;
        const int err = errno;
        ::close(inner);
        if (!ok) return Status::error(ErrorCode::system_error, std::string("bad route: ") + std::strerror(err));
    }
    return Status::ok();
}

struct Target {
    const Config* config;
    std::unique_ptr<test::LoadedFanout> fanout;
    std::unique_ptr<FanoutModel> model;
};
std::vector<Target>* targets = nullptr;
test::FrameCapture* capture = nullptr;
std::uint32_t veth = 0;
int possible_cpus = 0;
enum class Fault { none, output, clone } model_fault = Fault::none;
std::map<std::string, std::uint64_t>* rule_counts = nullptr;

std::string topic_text(const tempos_fanout_topic_counters& c) {
    return "events " + std::to_string(c.events) + " passed_ttl " + std::to_string(c.passed_ttl) + " passed_unresolved " +
           std::to_string(c.passed_unresolved) + " passed_too_big " + std::to_string(c.passed_too_big) +
           " passed_family " + std::to_string(c.passed_family) + " passed_gso " + std::to_string(c.passed_gso) +
           " aborted " + std::to_string(c.aborted);
}
std::string group_text(const tempos_fanout_group_counters& c) {
    return "copies " + std::to_string(c.copies) + " bytes " + std::to_string(c.bytes) + " clone_errors " +
           std::to_string(c.clone_errors) + " unresolved " + std::to_string(c.unresolved) + " too_big " +
           std::to_string(c.too_big);
}

void zero_counters(const Target& t, std::uint8_t topic) {
    const auto& maps = t.fanout->skel->maps;
    const std::vector<tempos_fanout_topic_counters> topic_zeros(static_cast<std::size_t>(possible_cpus));
    const std::vector<tempos_fanout_group_counters> group_zeros(static_cast<std::size_t>(possible_cpus));
    const std::uint32_t key = topic;
    if (bpf_map_update_elem(bpf_map__fd(maps.fanout_topic_counters), &key, topic_zeros.data(), BPF_ANY) != 0)
        fatal("zeroing the topic counters: " + std::string(std::strerror(errno)));
    for (std::uint32_t g = 0; g < TEMPOS_MAX_FANOUT_GROUPS; ++g) {
        const std::uint32_t group_key = key * TEMPOS_MAX_FANOUT_GROUPS + g;
        if (bpf_map_update_elem(bpf_map__fd(maps.fanout_group_counters), &group_key, group_zeros.data(), BPF_ANY) != 0)
            fatal("zeroing the group counters: " + std::string(std::strerror(errno)));
    }
}

[[noreturn]] void difference(const Target& t, const Bytes& frame, std::size_t step, const std::string& what,
                             const std::string& program, const std::string& model, const FanoutResult& m) {
    fuzz::report_difference("fanout_fuzzer: the fan-out program and its model differ", t.config->name, step, what,
                            "program", program, model, m.why, frame.size(), test::hex_dump(frame));
}

std::string frames_text(const std::vector<Bytes>& frames) {
    std::string text = std::to_string(frames.size()) + " frames";
    for (const Bytes& f : frames) text += "\n" + test::hex_dump(f);
    return text;
}

// The fan-out tests' frames (testing/frames/fanout_frames.hpp), IPv4 and IPv6, for every topic of the world, TTL 1,
// and datagrams at and over the veth's MTU (a FIB member's too_big) and over what its peer takes (a clone refused).
void write_seeds(const char* dir) {
    const auto write_seed = [&](const std::string& name, const Bytes& frame) {
        fuzz::write_seed("fanout_fuzzer", dir, name, frame);
    };
    for (const bool ipv6 : {false, true}) {
        const auto event = ipv6 ? testkit::fanout_event6 : testkit::fanout_event;
        for (const std::uint8_t topic : kSeedTopics) {
            const std::string t = "topic" + std::to_string(topic) + (ipv6 ? "_ipv6_" : "_");
            const auto& shapes = ipv6 ? testkit::fanout_accepted_shapes6() : testkit::fanout_accepted_shapes();
            for (const testkit::FanoutShape& shape : shapes) {
                testkit::PacketBuilder b = event(topic);
                shape.shape(b, topic);
                write_seed(t + shape.name, b.build());
            }
            write_seed(t + "ttl_1", event(topic).ttl(1).build());
        }
        for (const auto& [name, frame] : ipv6 ? testkit::fanout_passed_frames6(kTopicGroups6)
                                              : testkit::fanout_passed_frames(kTopicGroups))
            write_seed(name, frame.build());
    }
    for (const std::uint8_t topic : kSeedTopics) {
        const std::string t = "topic" + std::to_string(topic) + "_";
        write_seed(t + "at_mtu", testkit::fanout_event_of_length(topic, kSecondInterfaceMtu).build());
        write_seed(t + "over_mtu", testkit::fanout_event_of_length(topic, kSecondInterfaceMtu + 1).build());
        // 1519 bytes of frame: one more than the veth's peer takes.
        write_seed(t + "over_device", testkit::fanout_event_of_length(topic, kSecondInterfaceMtu + 5).build());
    }
}

void start() {
    rule_counts = fuzz::rule_counts_from_env();
    const std::string fault = std::getenv("TEMPOS_FUZZ_MODEL_FAULT") ? std::getenv("TEMPOS_FUZZ_MODEL_FAULT") : "";
    model_fault = fault == "1" ? Fault::output : fault == "clone" ? Fault::clone : Fault::none;
    const fuzz::FuzzNamespace ns = fuzz::enter_fuzz_namespace("fanout_fuzzer", true);
    veth = ns.veth;
    possible_cpus = ns.possible_cpus;
    Result<test::FrameCapture> opened = test::FrameCapture::open(kVethB, kVethA);
    if (!opened) fatal(opened.message());
    capture = new test::FrameCapture(std::move(*opened));
    targets = new std::vector<Target>;
    for (const Config& config : kConfigs) {
        Result<test::LoadedFanout> loaded = test::load_fanout(config.mom);
        if (!loaded) unprivileged(loaded.message());
        Target t{&config, std::make_unique<test::LoadedFanout>(std::move(*loaded)),
                 std::make_unique<FanoutModel>(world_for(config, veth, ns.veth_mac))};
        if (Status st = install_routes(*t.fanout, t.model->world()); !st)
            fatal(std::string(config.name) + ": installing the routes: " + st.message());
        targets->push_back(std::move(t));
    }
}

int run_input(const Bytes& frame) {
    for (Target& t : *targets) {
        FanoutModel& model = *t.model;
        model.reset();
        const FanoutResult first = model.run(frame);
        model.reset();
        if (first.topic) zero_counters(t, *first.topic);
        std::size_t runs = 1;
        if (first.verdict == TcVerdict::redirect) {
            std::size_t largest = 0;
            for (const auto& group : model.world().routes.at(*first.topic)) largest = std::max(largest, group.size());
            if (largest > 1) runs = largest + 1;
        }
        tempos_fanout_topic_counters want_topic{};
        std::vector<tempos_fanout_group_counters> want_groups(TEMPOS_MAX_FANOUT_GROUPS);
        FanoutResult m;
        for (std::size_t step = 0; step < runs; ++step) {
            m = model.run(frame);
            if (model_fault == Fault::output && m.verdict == TcVerdict::redirect) m.output.back() ^= 1;  // deliberate
            if (model_fault == Fault::clone && !m.clones.empty()) m.clones.front().back() ^= 1;
            const Result<test::TcRun> run = test::run_tc(t.fanout->prog_fd(), frame, veth, t.config->gso_segs);
            if (!run) {
                // The kernel refuses an IPv4 (IPv6) skb shorter than an IPv4 (IPv6) header; no driver delivers one.
                const bool short_ipv4 = frame[12] == 0x08 && frame[13] == 0x00 && frame.size() < 14 + 20;
                const bool short_ipv6 = frame[12] == 0x86 && frame[13] == 0xdd && frame.size() < 14 + 40;
                if ((short_ipv4 || short_ipv6) && run.message().find("Invalid argument") != std::string::npos)
                    return -1;
                fatal(std::string(t.config->name) + ": " + run.message());
            }
            const Result<std::vector<Bytes>> clones = capture->take_until_marker();
            if (!clones) fatal(std::string(t.config->name) + ": capturing the clones: " + clones.message());
            fuzz::compare_run(run->action, static_cast<int>(m.verdict), run->output, m.output, test::tc_action_name,
                              [&](const char* what, const std::string& program, const std::string& model) {
                                  difference(t, frame, step, what, program, model, m);
                              });
            if (*clones != m.clones)
                difference(t, frame, step, "clones sent", frames_text(*clones), frames_text(m.clones), m);
            if (rule_counts) ++(*rule_counts)[std::string(t.config->name) + ": " + m.why];
            for (auto count : {&tempos_fanout_topic_counters::events, &tempos_fanout_topic_counters::passed_ttl,
                               &tempos_fanout_topic_counters::passed_unresolved, &tempos_fanout_topic_counters::passed_gso,
                               &tempos_fanout_topic_counters::aborted, &tempos_fanout_topic_counters::passed_too_big,
                               &tempos_fanout_topic_counters::passed_family})
                want_topic.*count += m.topic_counters.*count;
            for (std::size_t g = 0; g < want_groups.size(); ++g)
                for (auto count : {&tempos_fanout_group_counters::copies, &tempos_fanout_group_counters::bytes,
                                   &tempos_fanout_group_counters::clone_errors, &tempos_fanout_group_counters::unresolved,
                                   &tempos_fanout_group_counters::too_big})
                    want_groups[g].*count += m.group_counters[g].*count;
        }
        if (!first.topic) continue;
        const Result<tempos_fanout_topic_counters> got_topic = t.fanout->table.read_topic_counters(*first.topic);
        if (!got_topic) fatal(got_topic.message());
        if (topic_text(*got_topic) != topic_text(want_topic))
            difference(t, frame, runs - 1, "counters of topic " + std::to_string(*first.topic), topic_text(*got_topic),
                       topic_text(want_topic), m);
        for (std::uint32_t g = 0; g < TEMPOS_MAX_FANOUT_GROUPS; ++g) {
            const Result<tempos_fanout_group_counters> got = t.fanout->table.read_group_counters(*first.topic, g);
            if (!got) fatal(got.message());
            if (group_text(*got) != group_text(want_groups[g]))
                difference(t, frame, runs - 1, "counters of group " + std::to_string(g), group_text(*got),
                           group_text(want_groups[g]), m);
        }
    }
    return 0;
}

}  // namespace

const tempos::fuzz::FuzzTarget tempos::fuzz::kFuzzTarget{write_seeds, start, run_input};
