// tempos-mom, tempos-pub and tempos-sub in the test kit's point-to-point topology, through its runners.
#pragma once

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "process/mom_runner.hpp"
#include "process/process.hpp"
#include "subcommand.hpp"
#include "topology/interface.hpp"
#include "topology/topology.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

using testkit::kMomPort;
namespace p2p = testkit::world::point_to_point;

// A topic of `groups` groups, each of subscriber `node` only (its eth0's MAC given: no neighbour lookup; its IPv6
// address with `ipv6`, and then tempos-mom listens on [::]).
struct BenchTopic {
    int id = 1;
    std::string qos = "strict";
    std::string node = "sub1";
    int groups = 1;
    bool ipv6 = false;
};

struct BenchMomOptions {
    int cpu = -1;                                                           // >= 0: tempos-mom runs on that CPU only
    std::vector<std::pair<std::string, std::string>> adapter_options = {};  // further XDP adapter options (persist)
    std::vector<std::string> args = {};  // further tempos-mom arguments (--plugin-dir)
};

// tempos-mom on mom:eth0 with the XDP adapter; ready once it runs and (unless "off") the router is in xdp_mode.
inline Result<testkit::MomRunner> start_bench_mom(const testkit::Topology& net, const std::string& xdp_mode,
                                                  const std::vector<BenchTopic>& topics, BenchMomOptions o = {}) {
    std::vector<testkit::ConfigTopic> config_topics;
    std::string listen = p2p::kMomIp;
    for (const BenchTopic& t : topics) {
        TEMPOS_ASSIGN_OR_RETURN(auto mac, net.mac(t.node, "eth0"));
        const testkit::ConfigEndpoint member{t.ipv6 ? net.ip6(t.node) : net.ip(t.node), kMomPort,
                                             testkit::mac_text(mac)};
        config_topics.push_back({t.id, t.qos, std::vector(static_cast<std::size_t>(t.groups), std::vector{member})});
        if (t.ipv6) listen = "[::]";
    }
    listen += ":" + std::to_string(kMomPort);
    testkit::ControllerConfig config = testkit::xdp_mom_config(listen, "eth0", xdp_mode, std::move(config_topics));
    config.mom.metrics = "127.0.0.1:9464";  // in its namespace: the bench reads its drop counters
    for (const auto& option : o.adapter_options) config.adapters.front().options.push_back(option);
    Result<testkit::MomRunner> mom =
        testkit::MomRunner::start(config, {.netns = net.ns("mom"), .cpu = o.cpu, .args = std::move(o.args)});
    if (!mom || xdp_mode == "off") return mom;
    // tempos-mom is ready after its adapter connected: the router's mode is settled by then.
    TEMPOS_ASSIGN_OR_RETURN(auto attached, net.xdp_mode("mom", "eth0"));
    if (const std::string name = testkit::xdp_mode_name(attached); name != xdp_mode)
        return Status::error(ErrorCode::unsupported, "XDP on mom:eth0 is " + name + ", expected " + xdp_mode);
    return mom;
}

// argv under `chrt -f priority` when priority > 0: the measuring endpoints stand for other hosts.
inline std::vector<std::string> at_priority(std::vector<std::string> argv, int priority) {
    if (priority > 0) argv.insert(argv.begin(), {"chrt", "-f", std::to_string(priority)});
    return argv;
}

// `argv` started; ready once its namespace has a UDP socket (`tcp`: a listening TCP one) on `port` (0: at once).
inline Result<testkit::Process> start_bound(const std::vector<std::string>& argv, testkit::ProcessOptions options,
                                            std::uint16_t port, bool tcp = false) {
    TEMPOS_ASSIGN_OR_RETURN(auto p, testkit::Process::start(argv, std::move(options)));
    auto bound = [&] { return tcp ? testkit::tcp_listening(p.pid(), port) : testkit::udp_port_bound(p.pid(), port); };
    const std::string what = (tcp ? "TCP port " : "UDP port ") + std::to_string(port) + " bound";
    if (port) TEMPOS_RETURN_IF_ERROR(p.wait_until(bound, std::chrono::seconds(5), what));
    return p;
}

// tempos-sub in `node` on listen_ip:kMomPort, ending after `count` events (0: at SIGINT) or `timeout_s`.
inline Result<testkit::Process> start_sub(const testkit::Topology& net, const std::string& node,
                                          const std::string& listen_ip, std::uint64_t count, double timeout_s,
                                          int priority = 0) {
    std::vector<std::string> argv{(testkit::executable_dir() / "tempos-sub").string(), "--listen",
                                  listen_ip + ":" + std::to_string(kMomPort), "--timeout", std::to_string(timeout_s),
                                  "--json"};
    if (count) argv.insert(argv.end(), {"--count", std::to_string(count)});
    return start_bound(at_priority(argv, priority), {.netns = net.ns(node)}, kMomPort);
}

// Waits until sub's namespace has `target` InDatagrams or that count stood still for `quiet`; the count then.
inline std::uint64_t wait_arrived(testkit::Process& sub, std::uint64_t target, std::chrono::milliseconds quiet,
                                  std::chrono::milliseconds timeout) {
    const pid_t pid = sub.pid();
    return testkit::poll_until_settled(
        [&] {
            const Result<std::uint64_t> in = sub.running() ? testkit::udp_counter(pid, "InDatagrams") : target;
            return in ? *in : target;
        },
        target, quiet, timeout);
}

// Stops a subscriber (SIGINT: it still reports, unless it has ended by itself) and reads its JSON report.
inline Result<nlohmann::json> collect_sub(testkit::Process& sub) {
    (void)sub.signal(SIGINT);
    if (!sub.wait(std::chrono::seconds(5))) sub.kill_and_reap();
    nlohmann::json report = nlohmann::json::parse(sub.output(), nullptr, false);
    if (!report.is_object())
        return measurement_error("tempos-sub report is not a JSON object: " + sub.output() + sub.errors());
    return report;
}

// tempos-pub (in `pub`) -> tempos-sub (in sub1, on listen_ip): `count` 32-byte events of `topic` at `rate`.
struct Stream {
    std::string target_ip, listen_ip;
    int topic = 1;
    std::uint64_t count = 0;
    double rate = 10'000;
    int priority = 0;  // SCHED_FIFO of both ends; 0: normal scheduling
    int pub_cpu = 0;
};

// What tempos-sub reported of the stream's topic.
struct StreamResult {
    double sent = 0, unique = 0, duplicates = 0;
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    double gap_p99_us = 0, gap_max_us = 0;  // time between two arrivals
    double delivered() const { return sent > 0 ? unique / sent : 0; }
    double lost() const { return std::max(0.0, sent - unique); }
};

// Runs `s`, and `during` in this thread once tempos-pub has started (given tempos-sub and its InDatagrams before);
// ends once tempos-pub has and its events arrived (or stood still for 200 ms).
using DuringStream = std::function<Status(testkit::Process& sub, std::uint64_t in_before)>;
inline Result<StreamResult> run_stream(const testkit::Topology& net, const Stream& s, const DuringStream& during = {}) {
    const double seconds = static_cast<double>(s.count) / s.rate;
    TEMPOS_ASSIGN_OR_RETURN(auto sub, start_sub(net, "sub1", s.listen_ip, s.count, seconds + 20, s.priority));
    TEMPOS_ASSIGN_OR_RETURN(auto in_before, testkit::udp_counter(sub.pid(), "InDatagrams"));
    TEMPOS_ASSIGN_OR_RETURN(
        auto pub,
        testkit::Process::start(
            at_priority({(testkit::executable_dir() / "tempos-pub").string(), "--to",
                         s.target_ip + ":" + std::to_string(kMomPort), "--topic", std::to_string(s.topic), "--count",
                         std::to_string(s.count), "--rate", std::to_string(s.rate), "--size", "32", "--max-seconds",
                         std::to_string(seconds + 10), "--json"},
                        s.priority),
            {.netns = net.ns("pub"), .cpu = s.pub_cpu}));
    const Status done = during ? during(sub, in_before) : Status::ok();
    const Result<int> pub_ended = pub.wait(milliseconds(seconds + 15));
    const int pub_status = pub_ended ? *pub_ended : pub.kill_and_reap();
    wait_arrived(sub, in_before + s.count, std::chrono::milliseconds(200), std::chrono::seconds(5));
    const Result<nlohmann::json> report = collect_sub(sub);
    if (!done) return done;
    if (!report) return report.status();
    if (pub_status != 0)
        return measurement_error("tempos-pub exited with status " + std::to_string(pub_status) + ": " + pub.errors());
    const nlohmann::json t =
        report->value(nlohmann::json::json_pointer("/topics/" + std::to_string(s.topic)), nlohmann::json::object());
    auto v = [&](const char* key) { return t.value(key, 0.0); };
    const StreamResult r{static_cast<double>(s.count), v("unique"), v("duplicates"), v("p50_us"), v("p99_us"),
                         v("p999_us"), v("max_us"), v("arrival_gap_p99_us"), v("arrival_gap_max_us")};
    if (r.unique == 0)
        return measurement_error("no event arrived (topic " + std::to_string(s.topic) + " to " + s.target_ip +
                                 "); tempos-sub said: " + sub.output());
    return r;
}

}  // namespace tempos::bench
