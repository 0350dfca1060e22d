// tempos-pub and tempos-sub as the live benchmarks (latency, restart) run them in the topology's nodes.
#pragma once

#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_mom.hpp"
#include "process/process.hpp"
#include "subcommand.hpp"

namespace tempos::bench {

// argv with `chrt -f priority` in front when priority > 0 (SCHED_FIFO: the measuring endpoints stand for other
// hosts).
inline std::vector<std::string> at_priority(std::vector<std::string> argv, int priority) {
    if (priority > 0) argv.insert(argv.begin(), {"chrt", "-f", std::to_string(priority)});
    return argv;
}

// tempos-sub in `node` on listen_ip:kMomPort, ending after `count` events (0: at SIGINT) or `timeout_s`. Ready
// once its port is bound.
inline Result<testkit::Process> start_sub(const testkit::Topology& net, const std::string& node,
                                          const std::string& listen_ip, std::uint64_t count, double timeout_s,
                                          int priority = 0) {
    std::vector<std::string> argv{(testkit::executable_dir() / "tempos-sub").string(), "--listen",
                                  listen_ip + ":" + std::to_string(kMomPort), "--timeout", std::to_string(timeout_s),
                                  "--json"};
    if (count) argv.insert(argv.end(), {"--count", std::to_string(count)});
    Result<testkit::Process> sub = testkit::Process::start(at_priority(argv, priority), {.netns = net.ns(node)});
    if (!sub) return sub;
    const pid_t pid = sub->pid();
    if (Status up = sub->wait_until([&] { return testkit::udp_port_bound(pid, kMomPort); }, std::chrono::seconds(2),
                                    "its port bound");
        !up)
        return up.prefixed("tempos-sub in " + node);
    return sub;
}

// tempos-pub in `pub`, on `cpu`: `count` 32-byte events of `topic` at `rate` to target_ip:kMomPort.
inline Result<testkit::Process> start_pub(const testkit::Topology& net, const std::string& target_ip, int topic,
                                          std::uint64_t count, double rate, double max_seconds, int cpu,
                                          int priority = 0) {
    return testkit::Process::start(
        at_priority({(testkit::executable_dir() / "tempos-pub").string(), "--to",
                     target_ip + ":" + std::to_string(kMomPort), "--topic", std::to_string(topic), "--count",
                     std::to_string(count), "--rate", std::to_string(rate), "--size", "32", "--max-seconds",
                     std::to_string(max_seconds), "--json"},
                    priority),
        {.netns = net.ns("pub"), .cpu = cpu});
}

// The last events: until sub's namespace has `target` UDP datagrams in (InDatagrams; tempos-sub with a count
// then ends by itself) or that count stood still for `quiet`.
inline void wait_arrived(testkit::Process& sub, std::uint64_t target, std::chrono::milliseconds quiet,
                         std::chrono::milliseconds timeout) {
    const pid_t pid = sub.pid();
    testkit::poll_until_settled(
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

}  // namespace tempos::bench
