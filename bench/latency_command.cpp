#include "commands.hpp"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <functional>

#include "bench_mom.hpp"
#include "live_traffic.hpp"
#include "round_to.hpp"
#include "subcommand.hpp"
#include "topology/layouts.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::bench {

namespace {

namespace p2p = testkit::world::point_to_point;
using tools::round_to;

struct LatencyOptions : CommonOptions {
    double seconds = 1.5;  // per measurement
    double rate = 10'000;  // strict events per second
    std::string xdp_mode = "native";
    std::vector<double> flood_mpps{0.05, 0.1, 0.2, 0.5, 1.0};  // besides none (first) and unpaced (last)
    int flood_cpu = 1;
    int pub_cpu = 0;
    int queues = 1;  // per veth; 2: strict (CPU 0) and flood (CPU 1) arrive in separate receive queues
    int endpoint_priority = 50;  // SCHED_FIFO of the strict publisher and subscriber; 0: normal scheduling

    void apply_quick() {  // --quick
        seconds = 0.3;
        flood_mpps = {0.1};
    }
};

constexpr int kStrictTopic = 1;
constexpr int kFloodTopic = 2;

struct Latency {
    double p50 = 0, p99 = 0, p999 = 0;
    std::uint64_t sent = 0, received = 0;
    double delivered() const { return sent ? static_cast<double>(received) / static_cast<double>(sent) : 0; }
};

// Where strict events can be dropped on their way, counted over one isolation step.
struct DropCounters {
    double pub_tx_dropped = 0;     // pub:eth0 could not hand the frame to mom:eth0 (its receive ring was full)
    double mom_rx_dropped = 0;     // mom:eth0
    double sub1_rx_dropped = 0;    // sub1:eth0
    double sub1_udp_errors = 0;    // sub1's Udp InErrors (receive buffer full, checksum)
};

struct IsolationPoint {
    double flood_offered_mpps = 0, flood_delivered_mpps = 0;
    Latency strict;
    DropCounters drops;
};

class LatencyBench {
public:
    explicit LatencyBench(const LatencyOptions& o) : o_(o) {}

    Result<Report> run() {
        install_interrupt_handler();
        if (Status st = setup(); !st) return st;
        Latency direct, xdp, socket_strict, socket_be;
        const auto sub1_mac = rig_.net.mac("sub1", "eth0"), sub2_mac = rig_.net.mac("sub2", "eth0");
        if (!sub1_mac || !sub2_mac) return sub1_mac ? sub2_mac.status() : sub1_mac.status();

        if (Status st = measure(p2p::kSub1DirectIp, p2p::kSub1DirectIp, kStrictTopic, direct); !st)
            return st.prefixed("direct");
        struct Config {
            const char* name;
            std::string mode;
            std::string qos;
            int topic;
            Latency* result;
        };
        for (const Config& c : {Config{"xdp strict", o_.xdp_mode, "strict", kStrictTopic, &xdp},
                                Config{"socket strict", "off", "strict", kStrictTopic, &socket_strict},
                                Config{"socket best-effort", "off", "best-effort", kFloodTopic, &socket_be}}) {
            const Status measured = with_mom(c.mode, {bench_topic(c.topic, c.qos, p2p::kSub1Ip, *sub1_mac)}, c.topic, [&] {
                return measure(p2p::kMomIp, p2p::kSub1Ip, c.topic, *c.result);
            });
            if (!measured) return measured.prefixed(c.name);
        }

        std::vector<IsolationPoint> isolation;
        const Status isolated = with_mom(o_.xdp_mode,
                                         {bench_topic(kStrictTopic, "strict", p2p::kSub1Ip, *sub1_mac),
                                          bench_topic(kFloodTopic, "best-effort", p2p::kSub2Ip, *sub2_mac)},
                                         kStrictTopic, [&] {
            std::vector<double> rates{-1};  // none
            rates.insert(rates.end(), o_.flood_mpps.begin(), o_.flood_mpps.end());
            rates.push_back(0);  // unpaced: the generator's limit
            for (const double mpps : rates) {
                Result<IsolationPoint> p = measure_under_flood(mpps);
                if (!p) return p.status();
                isolation.push_back(*p);
            }
            return Status::ok();
        });
        if (!isolated) return isolated.prefixed("isolation");
        return report(direct, xdp, socket_strict, socket_be, isolation);
    }

private:
    Status setup() {
        if (Status st = testkit::pin_to_cpu(o_.flood_cpu); !st) return st;
        auto net = testkit::point_to_point({.with_sub2 = true, .with_direct = true, .queues = o_.queues});
        if (!net) return net.status();
        rig_.net = std::move(*net);
        if (o_.xdp_mode == "native") {
            for (const char* node : {"sub1", "sub2"})
                if (Status st = rig_.net.attach_peer_pass(node, "eth0"); !st) return st;
        }
        return rig_.open(kFloodTopic, std::nullopt);
    }

    // tempos-mom with `topics` in `mode` while `measure` runs, after a warm-up on `topic`: the first events after
    // tempos-mom starts may still find its routes being published (one RCU grace period per strict topic).
    Status with_mom(const std::string& mode, std::vector<testkit::ConfigTopic> topics, int topic,
                    const std::function<Status()>& measure_with) {
        Result<testkit::MomRunner> mom = start_bench_mom(rig_.net, mode, std::move(topics));
        if (!mom) return mom.status();
        Latency ignored;
        if (Status st = measure(p2p::kMomIp, p2p::kSub1Ip, topic, ignored, {}, 0.3); !st) return st.prefixed("warm-up");
        if (Status st = measure_with(); !st) return st;
        return mom->stop();
    }

    // rt: the measuring subscriber (SCHED_FIFO), not the flood's. Ready once its port is bound.
    Result<testkit::Process> start_sub(const std::string& node, const std::string& listen_ip, std::uint64_t count,
                                       bool rt) {
        std::vector<std::string> argv{(testkit::executable_dir() / "tempos-sub").string(), "--listen",
                                      listen_ip + ":" + std::to_string(kMomPort), "--timeout",
                                      std::to_string(o_.seconds + 10), "--json"};
        if (count) argv.insert(argv.end(), {"--count", std::to_string(count)});
        if (rt && o_.endpoint_priority > 0) argv.insert(argv.begin(), {"chrt", "-f", std::to_string(o_.endpoint_priority)});
        Result<testkit::Process> sub = testkit::Process::start(argv, {.netns = rig_.net.ns(node)});
        if (!sub) return sub;
        const pid_t pid = sub->pid();
        if (Status up = sub->wait_until([&] { return testkit::udp_port_bound(pid, kMomPort); }, std::chrono::seconds(2),
                                        "its port bound");
            !up)
            return up.prefixed("tempos-sub in " + node);
        return sub;
    }

    // Stops a subscriber (SIGINT: it still reports, unless it has ended by itself) and reads its JSON report.
    static Result<nlohmann::json> collect(testkit::Process& sub) {
        (void)sub.signal(SIGINT);
        if (!sub.wait(std::chrono::seconds(5))) sub.kill_and_reap();
        nlohmann::json report = nlohmann::json::parse(sub.output(), nullptr, false);
        if (!report.is_object())
            return measurement_error("tempos-sub report is not a JSON object: " + sub.output() + sub.errors());
        return report;
    }

    // A number of topic `topic` in a tempos-sub report; 0 when absent.
    static double topic_figure(const nlohmann::json& report, int topic, const char* field) {
        const nlohmann::json::json_pointer at("/topics/" + std::to_string(topic) + "/" + field);
        return report.contains(at) && report[at].is_number() ? report[at].get<double>() : 0;
    }

    // Strict events from tempos-pub (pinned to its CPU) to `target_ip`, received by tempos-sub on sub1 at
    // `listen_ip`; while they flow, `flood` runs in this thread.
    Status measure(const std::string& target_ip, const std::string& listen_ip, int topic, Latency& l,
                   const std::function<Status()>& flood = {}, double seconds = 0) {
        if (seconds <= 0) seconds = o_.seconds;
        const auto count = static_cast<std::uint64_t>(o_.rate * seconds);
        Result<testkit::Process> sub = start_sub("sub1", listen_ip, count, true);
        if (!sub) return sub.status();
        const Result<std::uint64_t> sub_in_before = testkit::udp_counter(sub->pid(), "InDatagrams");
        if (!sub_in_before) return sub_in_before.status();
        std::vector<std::string> pub_argv{(testkit::executable_dir() / "tempos-pub").string(), "--to",
                                          target_ip + ":" + std::to_string(kMomPort), "--topic",
                                          std::to_string(topic), "--count", std::to_string(count),
                                          "--rate", std::to_string(o_.rate), "--size", "32",
                                          "--max-seconds", std::to_string(seconds + 5), "--json"};
        if (o_.endpoint_priority > 0)
            pub_argv.insert(pub_argv.begin(), {"chrt", "-f", std::to_string(o_.endpoint_priority)});
        Result<testkit::Process> pub = testkit::Process::start(pub_argv, {.netns = rig_.net.ns("pub"), .cpu = o_.pub_cpu});
        if (!pub) return pub.status();
        const Status flooded = flood ? flood() : Status::ok();
        const Result<int> pub_ended = pub->wait(std::chrono::milliseconds(static_cast<long>((seconds + 10) * 1000)));
        const int pub_status = pub_ended ? *pub_ended : pub->kill_and_reap();
        // The last events: until tempos-sub has every one (it then ends by itself) or sub1 stopped receiving.
        const std::uint64_t all_in = *sub_in_before + count;
        testkit::poll_until_settled(
            [&] {
                const Result<std::uint64_t> in = sub->running() ? testkit::udp_counter(sub->pid(), "InDatagrams") : all_in;
                return in ? *in : all_in;
            },
            all_in, std::chrono::milliseconds(100), std::chrono::seconds(3));
        const Result<nlohmann::json> report = collect(*sub);
        if (!report) return report.status();
        if (!flooded) return flooded;
        if (pub_status != 0)
            return measurement_error("tempos-pub exited with status " + std::to_string(pub_status) + ": " + pub->errors());
        l.sent = count;
        l.received = static_cast<std::uint64_t>(topic_figure(*report, topic, "unique"));
        l.p50 = topic_figure(*report, topic, "p50_us");
        l.p99 = topic_figure(*report, topic, "p99_us");
        l.p999 = topic_figure(*report, topic, "p999_us");
        if (l.received == 0)
            return measurement_error("no event arrived (topic " + std::to_string(topic) + " to " + target_ip + ")");
        return Status::ok();
    }

    // Where strict events are dropped on their way, from the interfaces' counters and sub1's Udp InErrors.
    Result<DropCounters> drop_counters() const {
        const Result<std::vector<testkit::NodeInterfaceDrops>> drops = rig_.net.drops();
        if (!drops) return drops.status();
        DropCounters d;
        for (const testkit::NodeInterfaceDrops& i : *drops) {
            if (i.drops.ifname != "eth0") continue;
            if (i.node == "pub") d.pub_tx_dropped = static_cast<double>(i.drops.tx_dropped);
            if (i.node == "mom") d.mom_rx_dropped = static_cast<double>(i.drops.rx_dropped);
            if (i.node == "sub1") d.sub1_rx_dropped = static_cast<double>(i.drops.rx_dropped);
        }
        const Result<std::string> in_errors =
            rig_.net.exec("sub1", {"awk", "/^Udp:/ { if (n++) { print $4; exit } }", "/proc/net/snmp"});
        if (!in_errors) return in_errors.status();
        d.sub1_udp_errors = std::strtod(in_errors->c_str(), nullptr);
        return d;
    }

    // mpps < 0: no flood; 0: the generator unpaced.
    Result<IsolationPoint> measure_under_flood(double mpps) {
        const Result<DropCounters> before = drop_counters();
        if (!before) return before.status();
        IsolationPoint p;
        if (mpps < 0) {
            if (Status st = measure(p2p::kMomIp, p2p::kSub1Ip, kStrictTopic, p.strict); !st) return st;
        } else {
            Result<testkit::Process> flood_sub = start_sub("sub2", p2p::kSub2Ip, 0, false);
            if (!flood_sub) return flood_sub.status();
            GeneratorRun g;
            auto flood = [&] {
                // Slightly longer than the strict run so that it covers it whole.
                const Result<GeneratorRun> sent = rig_.send(mpps * 1e6, o_.seconds + 0.3);
                if (sent) g = *sent;
                return sent.status();
            };
            if (Status st = measure(p2p::kMomIp, p2p::kSub1Ip, kStrictTopic, p.strict, flood); !st) return st;
            const Result<nlohmann::json> report = collect(*flood_sub);
            if (!report) return report.status().prefixed("flood");
            p.flood_offered_mpps = g.rate_pps() / 1e6;
            p.flood_delivered_mpps = g.seconds > 0 ? topic_figure(*report, kFloodTopic, "received") / g.seconds / 1e6 : 0;
        }
        const Result<DropCounters> after = drop_counters();
        if (!after) return after.status();
        p.drops = {after->pub_tx_dropped - before->pub_tx_dropped, after->mom_rx_dropped - before->mom_rx_dropped,
                   after->sub1_rx_dropped - before->sub1_rx_dropped, after->sub1_udp_errors - before->sub1_udp_errors};
        return p;
    }

    Report report(const Latency& direct, const Latency& xdp, const Latency& socket_strict, const Latency& socket_be,
                  const std::vector<IsolationPoint>& isolation) const {
        Report out;
        auto add = [&](const std::string& name, const Latency& l) {
            out.number("lat_" + name + "_p50_us", l.p50, 2)
                .number("lat_" + name + "_p99_us", l.p99, 2)
                .number("lat_" + name + "_p999_us", l.p999, 2)
                .number("lat_" + name + "_delivered", l.delivered(), 5);
        };
        add("direct", direct);
        add("xdp", xdp);
        add("socket", socket_strict);
        add("socket_be", socket_be);
        out.number("lat_xdp_added_p50_us", xdp.p50 - direct.p50, 2);
        const IsolationPoint& idle = isolation.front();
        const IsolationPoint& heaviest = isolation.back();
        out.number("lat_strict_idle_p50_us", idle.strict.p50, 2)
            .number("lat_strict_idle_p99_us", idle.strict.p99, 2)
            .number("lat_strict_flood_p50_us", heaviest.strict.p50, 2)
            .number("lat_strict_flood_p99_us", heaviest.strict.p99, 2)
            .number("lat_strict_flood_delivered", heaviest.strict.delivered(), 5)
            .number("lat_strict_flood_ratio", idle.strict.p99 > 0 ? heaviest.strict.p99 / idle.strict.p99 : 0, 3)
            .number("lat_flood_max_offered_mpps", heaviest.flood_offered_mpps, 4)
            .number("lat_flood_max_delivered_mpps", heaviest.flood_delivered_mpps, 4)
            .number("lat_strict_flood_lost", static_cast<double>(heaviest.strict.sent - heaviest.strict.received), 0)
            .number("lat_flood_pub_tx_dropped", heaviest.drops.pub_tx_dropped, 0)
            .number("lat_flood_mom_rx_dropped", heaviest.drops.mom_rx_dropped, 0)
            .number("lat_flood_sub1_rx_dropped", heaviest.drops.sub1_rx_dropped, 0)
            .number("lat_flood_sub1_udp_in_errors", heaviest.drops.sub1_udp_errors, 0);
        nlohmann::ordered_json curve = nlohmann::ordered_json::array();
        for (const IsolationPoint& p : isolation)
            curve.push_back({round_to(p.flood_offered_mpps, 4), round_to(p.flood_delivered_mpps, 4),
                             round_to(p.strict.p50, 2), round_to(p.strict.p99, 2), round_to(p.strict.delivered(), 5)});
        out.raw("isolation_curve", std::move(curve))
            .text("latency_xdp_mode", o_.xdp_mode)
            .number("latency_sub_xdp_pass", o_.xdp_mode == "native" ? 1 : 0, 0)
            .number("latency_endpoint_priority", o_.endpoint_priority, 0)
            .number("latency_queues", o_.queues, 0)
            .number("latency_rate_eps", o_.rate, 0)
            .number("latency_seconds", o_.seconds, 2);
        return out;
    }

    const LatencyOptions& o_;
    LiveRig rig_;
};

}  // namespace

void register_latency_command(CLI::App& app, const char* name, int& exit_code) {
    auto [cmd, o] = add_subcommand<LatencyOptions>(
        app, name, "One-way latency tempos-pub -> tempos-sub: direct, XDP strict, socket paths; strict under a flood",
        "Smoke run: 0.3 s measurements, one paced flood rate (not a measurement)", exit_code,
        [](const LatencyOptions& o) { return LatencyBench(o).run(); });
    add_seconds_option(cmd, o.seconds, "Length of each measurement", 0.1, 60.0);
    cmd->add_option("--rate", o.rate, "Strict events per second")->check(CLI::Range(1.0, 1e6));
    add_xdp_mode_option(cmd, o.xdp_mode, "XDP mode of the router: native or generic");
    cmd->add_option("--queues", o.queues,
                    "Queues per veth: 1 = strict and flood share mom:eth0's receive ring; 2 = one per sending CPU")
        ->check(CLI::Range(1, 2));
    cmd->add_option("--endpoint-priority", o.endpoint_priority,
                    "SCHED_FIFO priority of the measuring tempos-pub/tempos-sub (they stand for other hosts; "
                    "0: normal scheduling)")
        ->check(CLI::Range(0, 99));
    cmd->add_option("--flood-rates", o.flood_mpps,
                    "Paced best-effort flood rates in Mpps (none and unpaced are always measured too)");
}

}  // namespace tempos::bench
