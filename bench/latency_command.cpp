#include "commands.hpp"

#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>

#include "bench_mom.hpp"
#include "frames/frame_world.hpp"
#include "interrupt.hpp"
#include "live_traffic.hpp"
#include "round_to.hpp"
#include "subcommand.hpp"
#include "test_run_timer.hpp"
#include "topology/layouts.hpp"
#include "topology/netns.hpp"
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
        if (std::string err = setup(); !err.empty()) return measurement_error(err);
        Latency direct, xdp, socket_strict, socket_be;
        const auto sub1_mac_address = rig_.net.mac("sub1", "eth0"), sub2_mac_address = rig_.net.mac("sub2", "eth0");
        if (!sub1_mac_address || !sub2_mac_address)
            return measurement_error(sub1_mac_address ? sub2_mac_address.message() : sub1_mac_address.message());
        const Mac& sub1_mac = *sub1_mac_address;
        const Mac& sub2_mac = *sub2_mac_address;

        if (std::string err = measure(p2p::kSub1DirectIp, p2p::kSub1DirectIp, kStrictTopic, direct);
            !err.empty())
            return measurement_error("direct: " + err);
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
            Result<testkit::MomRunner> mom =
                start_bench_mom(rig_.net, c.mode, {bench_topic(c.topic, c.qos, p2p::kSub1Ip, sub1_mac)});
            if (!mom) return measurement_error(std::string(c.name) + ": " + mom.message());
            if (std::string err = warm_up(c.topic); !err.empty()) return measurement_error(std::string(c.name) + ": " + err);
            if (std::string err = measure(p2p::kMomIp, p2p::kSub1Ip, c.topic, *c.result); !err.empty())
                return measurement_error(std::string(c.name) + ": " + err);
            if (Status stopped = mom->stop(); !stopped)
                return measurement_error(std::string(c.name) + ": " + stopped.message());
        }

        std::vector<IsolationPoint> isolation;
        {
            Result<testkit::MomRunner> mom =
                start_bench_mom(rig_.net, o_.xdp_mode,
                                {bench_topic(kStrictTopic, "strict", p2p::kSub1Ip, sub1_mac),
                                 bench_topic(kFloodTopic, "best-effort", p2p::kSub2Ip, sub2_mac)});
            if (!mom) return measurement_error("isolation: " + mom.message());
            if (std::string err = warm_up(kStrictTopic); !err.empty()) return measurement_error("isolation: " + err);
            std::vector<double> rates{-1};  // none
            rates.insert(rates.end(), o_.flood_mpps.begin(), o_.flood_mpps.end());
            rates.push_back(0);  // unpaced: the generator's limit
            for (const double mpps : rates) {
                IsolationPoint p;
                if (std::string err = measure_under_flood(mpps, p); !err.empty()) return measurement_error("isolation: " + err);
                isolation.push_back(p);
            }
            if (Status stopped = mom->stop(); !stopped) return measurement_error("isolation: " + stopped.message());
        }
        return report(direct, xdp, socket_strict, socket_be, isolation);
    }

private:

    std::string setup() {
        if (std::string err = pin_to_cpu(o_.flood_cpu); !err.empty()) return err;
        auto net = testkit::point_to_point({.with_sub2 = true, .with_direct = true, .queues = o_.queues});
        if (!net) return net.message();
        rig_.net = std::move(*net);
        if (o_.xdp_mode == "native") {
            for (const char* node : {"sub1", "sub2"})
                if (Status st = rig_.net.attach_peer_pass(node, "eth0"); !st) return st.message();
        }
        return rig_.open(kFloodTopic, std::nullopt);
    }

    // rt: the measuring subscriber (SCHED_FIFO), not the flood's.
    std::string start_sub(testkit::Process& sub, const std::string& node, const std::string& listen_ip,
                          std::uint64_t count, bool rt) {
        const std::string ready = "/tmp/tempos-bench-" + std::to_string(getpid()) + "-" + node + ".ready";
        unlink(ready.c_str());
        std::vector<std::string> argv{(testkit::executable_dir() / "tempos-sub").string(),
                                      "--listen",
                                      listen_ip + ":" + std::to_string(kMomPort),
                                      "--timeout",
                                      std::to_string(o_.seconds + 10),
                                      "--json",
                                      "--ready-file",
                                      ready};
        if (count) argv.insert(argv.end(), {"--count", std::to_string(count)});
        if (rt && o_.endpoint_priority > 0) argv.insert(argv.begin(), {"chrt", "-f", std::to_string(o_.endpoint_priority)});
        Result<testkit::Process> started = testkit::Process::start(argv, {.netns = rig_.net.ns(node)});
        if (!started) return started.message();
        sub = std::move(*started);
        const Status up = sub.wait_until([&] { return access(ready.c_str(), F_OK) == 0; }, std::chrono::seconds(2),
                                         "its ready file");
        unlink(ready.c_str());
        return up ? std::string() : "tempos-sub in " + node + ": " + up.message();
    }

    // Stops a subscriber (SIGINT: it still reports) and reads its JSON report.
    std::string collect(testkit::Process& sub, nlohmann::json& report) {
        (void)sub.signal(SIGINT);
        if (!sub.wait(std::chrono::seconds(5))) sub.kill_and_reap();
        report = nlohmann::json::parse(sub.output(), nullptr, false);
        return report.is_object() ? std::string() : "tempos-sub report is not a JSON object: " + sub.output() + sub.errors();
    }

    // A number of topic `topic` in a tempos-sub report; 0 when absent.
    static double topic_figure(const nlohmann::json& report, int topic, const char* field) {
        const nlohmann::json::json_pointer at("/topics/" + std::to_string(topic) + "/" + field);
        return report.contains(at) && report[at].is_number() ? report[at].get<double>() : 0;
    }

    // Strict events from tempos-pub (pinned to its CPU) to `target_ip`, received by tempos-sub on sub1 at
    // `listen_ip`; while they flow, `flood` runs in this thread.
    std::string measure(const std::string& target_ip, const std::string& listen_ip, int topic, Latency& l,
                        const std::function<std::string()>& flood = {}, double seconds = 0) {
        if (seconds <= 0) seconds = o_.seconds;
        const auto count = static_cast<std::uint64_t>(o_.rate * seconds);
        testkit::Process sub;
        if (std::string err = start_sub(sub, "sub1", listen_ip, count, true); !err.empty()) return err;
        std::vector<std::string> pub_argv{(testkit::executable_dir() / "tempos-pub").string(), "--to",
                                          target_ip + ":" + std::to_string(kMomPort), "--topic",
                                          std::to_string(topic), "--count", std::to_string(count),
                                          "--rate", std::to_string(o_.rate), "--size", "32",
                                          "--max-seconds", std::to_string(seconds + 5), "--json"};
        if (o_.endpoint_priority > 0)
            pub_argv.insert(pub_argv.begin(), {"chrt", "-f", std::to_string(o_.endpoint_priority)});
        Result<testkit::Process> pub = testkit::Process::start(pub_argv, {.netns = rig_.net.ns("pub"), .cpu = o_.pub_cpu});
        if (!pub) return pub.message();
        std::string flood_error = flood ? flood() : std::string();
        const Result<int> pub_ended = pub->wait(std::chrono::milliseconds(static_cast<long>((seconds + 10) * 1000)));
        const int pub_status = pub_ended ? *pub_ended : pub->kill_and_reap();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        nlohmann::json report;
        if (std::string err = collect(sub, report); !err.empty()) return err;
        if (!flood_error.empty()) return flood_error;
        if (pub_status != 0) return "tempos-pub exited with status " + std::to_string(pub_status) + ": " + pub->errors();
        l.sent = count;
        l.received = static_cast<std::uint64_t>(topic_figure(report, topic, "unique"));
        l.p50 = topic_figure(report, topic, "p50_us");
        l.p99 = topic_figure(report, topic, "p99_us");
        l.p999 = topic_figure(report, topic, "p999_us");
        if (l.received == 0) return "no event arrived (topic " + std::to_string(topic) + " to " + target_ip + ")";
        return {};
    }

    // The first events after tempos-mom starts may still find its routes being published (one RCU grace
    // period per strict topic): a short unreported run first.
    std::string warm_up(int topic) {
        Latency ignored;
        return measure(p2p::kMomIp, p2p::kSub1Ip, topic, ignored, {}, 0.3);
    }

    // mpps < 0: no flood; 0: the generator unpaced.
    double read_number(const std::string& node, const std::string& command) const {
        const Result<std::string> out = rig_.net.exec(node, {"sh", "-c", command});
        return out ? std::strtod(out->c_str(), nullptr) : 0;
    }

    DropCounters drop_counters() const {
        auto link = [&](const std::string& node, const char* what) {
            return read_number(node, std::string("cat /sys/class/net/eth0/statistics/") + what);
        };
        DropCounters d;
        d.pub_tx_dropped = link("pub", "tx_dropped");
        d.mom_rx_dropped = link("mom", "rx_dropped");
        d.sub1_rx_dropped = link("sub1", "rx_dropped");
        d.sub1_udp_errors = read_number(
            "sub1", "awk '/^Udp:/ { if (n++) { print $4; exit } }' /proc/net/snmp");  // InErrors
        return d;
    }

    std::string measure_under_flood(double mpps, IsolationPoint& p) {
        const DropCounters before = drop_counters();
        std::string err = measure_under_flood_counted(mpps, p);
        const DropCounters after = drop_counters();
        p.drops = {after.pub_tx_dropped - before.pub_tx_dropped, after.mom_rx_dropped - before.mom_rx_dropped,
                   after.sub1_rx_dropped - before.sub1_rx_dropped, after.sub1_udp_errors - before.sub1_udp_errors};
        return err;
    }

    std::string measure_under_flood_counted(double mpps, IsolationPoint& p) {
        if (mpps < 0) return measure(p2p::kMomIp, p2p::kSub1Ip, kStrictTopic, p.strict);
        testkit::Process flood_sub;
        if (std::string err = start_sub(flood_sub, "sub2", p2p::kSub2Ip, 0, false); !err.empty()) return err;
        GeneratorRun g;
        auto flood = [&]() -> std::string {
            testkit::NetnsScope in_pub(rig_.net.ns("pub"));
            if (!in_pub.status()) return in_pub.status().message();
            std::string error;
            // Slightly longer than the strict run so that it covers it whole.
            g = rig_.generator.run(rig_.pub_ifindex, rig_.frame, mpps * 1e6, o_.seconds + 0.3, error);
            return error;
        };
        if (std::string err = measure(p2p::kMomIp, p2p::kSub1Ip, kStrictTopic, p.strict, flood);
            !err.empty())
            return err;
        nlohmann::json report;
        if (std::string err = collect(flood_sub, report); !err.empty()) return "flood " + err;
        const double flood_received = topic_figure(report, kFloodTopic, "received");
        p.flood_offered_mpps = g.rate_pps() / 1e6;
        p.flood_delivered_mpps = g.seconds > 0 ? flood_received / g.seconds / 1e6 : 0;
        return {};
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
    auto o = std::make_shared<LatencyOptions>();
    CLI::App* cmd = add_subcommand<LatencyOptions>(
        app, name, "One-way latency tempos-pub -> tempos-sub: direct, XDP strict, socket paths; strict under a flood",
        exit_code, o, "Smoke run: 0.3 s measurements, one paced flood rate (not a measurement)",
        [](LatencyOptions& o) {
            o.seconds = 0.3;
            o.flood_mpps = {0.1};
        },
        [](const LatencyOptions& o) { return LatencyBench(o).run(); });
    add_seconds_option(cmd, o->seconds, "Length of each measurement", 0.1, 60.0);
    cmd->add_option("--rate", o->rate, "Strict events per second")->check(CLI::Range(1.0, 1e6))->capture_default_str();
    add_xdp_mode_option(cmd, o->xdp_mode, "XDP mode of the router: native or generic");
    cmd->add_option("--queues", o->queues,
                    "Queues per veth: 1 = strict and flood share mom:eth0's receive ring; 2 = one per sending CPU")
        ->check(CLI::Range(1, 2))
        ->capture_default_str();
    cmd->add_option("--endpoint-priority", o->endpoint_priority,
                    "SCHED_FIFO priority of the measuring tempos-pub/tempos-sub (they stand for other hosts; "
                    "0: normal scheduling)")
        ->check(CLI::Range(0, 99))
        ->capture_default_str();
    cmd->add_option("--flood-rates", o->flood_mpps,
                    "Paced best-effort flood rates in Mpps (none and unpaced are always measured too)")
        ->capture_default_str();
}

}  // namespace tempos::bench
