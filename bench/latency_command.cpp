#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>

#include "bench_mom.hpp"
#include "live_traffic.hpp"

namespace tempos::bench {

namespace {

struct LatencyOptions : CommonOptions {
    double seconds = 1.5;  // per measurement
    double rate = 10'000;  // strict events per second
    std::string xdp_mode = "native";
    std::vector<double> flood_mpps{0.05, 0.1, 0.2, 0.5, 1.0};  // besides none (first) and unpaced (last)
    int flood_cpu = 1;
    int pub_cpu = 0;
    int queues = 1;              // per veth; 2: strict (CPU 0) and flood (CPU 1) arrive in separate receive queues
    int endpoint_priority = 50;  // SCHED_FIFO of the strict publisher and subscriber; 0: normal scheduling
    int best_effort_nice = 0;    // > 0: the isolation sweep's tempos-mom gets best_effort_nice = N; 0: its default

    void apply_quick() { std::tie(seconds, flood_mpps) = std::pair{0.3, std::vector{0.1}}; }
    void add_options(CLI::App* cmd) {
        cmd->add_option("--queues", queues,
                        "Queues per veth: 1 = strict and flood share mom:eth0's receive ring; 2 = one per sending CPU")
            ->check(CLI::Range(1, 2));
        cmd->add_option("--flood-rates", flood_mpps,
                        "Paced best-effort flood rates in Mpps (none and unpaced are always measured too)");
        cmd->add_option("--best-effort-nice", best_effort_nice,
                        "XDP adapter option best_effort_nice of the isolation sweep's tempos-mom (the cpumap threads' "
                        "nice value; 0: the adapter's default)")
            ->check(CLI::Range(0, 19));
    }
};

constexpr int kStrictTopic = 1;
// The xdp_v6 path's ends: tempos-pub to the MoM's IPv6 address, tempos-sub on sub1's.
const std::string kMomIp6 = "[" + std::string(p2p::kMomIp6) + "]", kSub1Ip6 = "[" + std::string(p2p::kSub1Ip6) + "]";
constexpr int kFloodTopic = 2;

// The three MoM configurations of the isolation sweep (issue 12), in one run: benchmarks_method.md, "Isolation".
struct IsolationConfig {
    const char* name;
    bool xdp;
    std::vector<std::pair<std::string, std::string>> adapter_options;
};
const IsolationConfig kIsolationConfigs[] = {
    {"on", true, {}}, {"off", true, {{"best_effort_cpus", ""}}}, {"socket", false, {}}};

// Counters that explain lost events, over one isolation step: `in_be_sum` ones add up to the best-effort events
// counted as dropped, each loss once (which and why: benchmarks_method.md, "Isolation").
struct Counter {
    const char* key;
    bool in_be_sum;
    const char* metric = nullptr;  // in the MoM's /metrics; else an interface's or a namespace's UDP counter
    std::vector<std::pair<std::string, std::string>> labels = {};
};
const Counter kCounters[] = {
    {"pub_tx_dropped", false},      // pub:eth0 (mirrors mom_rx_dropped for the generator's frames)
    {"mom_rx_dropped", true},       // mom:eth0: its receive ring was full
    {"mom_eth2_tx_dropped", true},  // mom:eth2: the best-effort copies to sub2
    {"sub1_rx_dropped", false},
    {"sub2_rx_dropped", true},
    {"sub1_udp_in_errors", false},  // Udp InErrors of the node (receive buffer full, checksum)
    {"sub2_udp_in_errors", true},
    {"mom_policed", true, "tempos_policed_events_total"},
    {"mom_cpumap_dropped", true, "tempos_best_effort_unarrived"},
    {"mom_bq_socket_dropped", false, "tempos_ingress_socket_drops_total", {{"socket", "bq"}}},  // in InErrors
    {"mom_udp_in_errors", true, "tempos_netns_udp_errors_total", {{"counter", "InErrors"}}},
    {"mom_be_queue_dropped", true, "tempos_events_dropped_total", {{"topic", "2"}}},
    {"mom_be_send_errors", true, "tempos_adapter_send_errors_total", {{"topic", "2"}}},
    {"mom_cpu_s", false},      // tempos-mom's utime + stime
    {"softirq_cpu_s", false},  // every CPU's softirq time (/proc/stat)
    {"cpumap_cpu_s", false},   // the cpumap's kernel threads ("cpumap/CPU/map:ID"), which build best-effort skbs
};
using Counters = std::map<std::string, double>;
using Paths = std::vector<std::pair<std::string, StreamResult>>;  // by name, in the report's order

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    return {std::istream_iterator<std::string>(in), {}};
}
double ticks_to_s(const std::string& ticks) { return std::stod(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK)); }

// utime + stime of a /proc/PID/stat text (fields 14 and 15), in seconds.
double task_cpu_seconds(const std::string& stat) {
    const auto f = words(stat.substr(std::min(stat.size(), stat.rfind(')') + 2)));  // after the name: field 3 on
    return f.size() > 12 ? ticks_to_s(f[11]) + ticks_to_s(f[12]) : 0;
}

struct IsolationPoint {
    double flood_offered_mpps = 0, flood_delivered_mpps = 0;
    double flood_sent = 0, flood_delivered = 0;  // frames the generator sent, datagrams sub2's kernel delivered
    double flood_device_dropped = 0;             // of flood_sent, refused by pub:eth0 (AF_PACKET generator only)
    StreamResult strict;
    Counters counters;  // over the step
    double be_counted() const {
        double sum = flood_device_dropped;
        for (const Counter& c : kCounters) sum += c.in_be_sum ? counters.at(c.key) : 0;
        return sum;
    }
    double be_unaccounted() const { return flood_sent - flood_delivered - be_counted(); }
    // CPU time per million events of the step (strict and flood), in ms.
    double cpu_ms_per_mev(const char* key) const {
        const double events = strict.sent + flood_sent;
        return events > 0 ? counters.at(key) * 1e3 / (events / 1e6) : 0;
    }
};

}  // namespace

struct LatencyBench : Bench<LatencyOptions> {
    using Bench::Bench;

    Result<Report> run() {
        TEMPOS_RETURN_IF_ERROR(setup());
        // The paths: direct (pub:eth1 -> sub1:eth1, no MoM), then through tempos-mom, strict by XDP or by the
        // socket path, and best-effort; then strict by XDP with IPv6 events (fields *_v6).
        Paths paths{{"direct", {}}, {"xdp", {}}, {"socket", {}}, {"socket_be", {}}, {"xdp_v6", {}}};
        for (auto& [name, result] : paths) {
            const Status measured = [&, &name = name, &result = result] {
                if (name == "direct") return measure(p2p::kSub1DirectIp, p2p::kSub1DirectIp, kStrictTopic, result);
                if (name == "xdp_v6")
                    return with_mom(
                        o_.xdp_mode, {{.ipv6 = true}}, kStrictTopic,
                        [&](auto&) { return measure(kMomIp6, kSub1Ip6, kStrictTopic, result); }, {}, true);
                const int topic = name == "socket_be" ? kFloodTopic : kStrictTopic;
                return with_mom(name == "xdp" ? o_.xdp_mode : "off",
                                {{topic, name == "socket_be" ? "best-effort" : "strict"}}, topic,
                                [&](auto&) { return measure(p2p::kMomIp, p2p::kSub1Ip, topic, result); });
            }();
            if (!measured) return measured.prefixed(name);
        }

        std::map<std::string, std::vector<IsolationPoint>> isolation;
        for (const IsolationConfig& c : kIsolationConfigs) {
            std::vector<IsolationPoint>& curve = isolation[c.name];
            std::vector<double> rates{-1};  // none
            rates.insert(rates.end(), o_.flood_mpps.begin(), o_.flood_mpps.end());
            rates.push_back(0);  // unpaced: the generator's limit
            auto adapter_options = c.adapter_options;
            if (o_.best_effort_nice > 0)
                adapter_options.emplace_back("best_effort_nice", std::to_string(o_.best_effort_nice));
            const Status isolated = with_mom(
                c.xdp ? o_.xdp_mode : "off", {{kStrictTopic, "strict"}, {kFloodTopic, "best-effort", "sub2"}},
                kStrictTopic,
                [&](const testkit::MomRunner& mom) {
                    for (const double mpps : rates) {
                        TEMPOS_ASSIGN_OR_RETURN(auto p, measure_under_flood(mom, mpps));
                        curve.push_back(p);
                    }
                    return Status::ok();
                },
                adapter_options);
            if (!isolated) return isolated.prefixed(std::string("isolation ") + c.name);
        }
        return report(paths, isolation);
    }

private:
    Status setup() {
        TEMPOS_RETURN_IF_ERROR(rig_.build(o_.flood_cpu,
                                          {.with_sub2 = true, .with_direct = true, .queues = o_.queues, .ipv6 = true},
                                          kFloodTopic, std::nullopt));
        for (const char* node : {"sub1", "sub2"})
            if (o_.xdp_mode == "native") TEMPOS_RETURN_IF_ERROR(rig_.net.attach_peer_pass(node, "eth0"));
        return Status::ok();
    }

    // tempos-mom with `topics` in `mode` while `measure` runs, after a warm-up on `topic`: the first events after
    // tempos-mom starts may still find its routes being published (one RCU grace period per strict topic).
    Status with_mom(const std::string& mode, const std::vector<BenchTopic>& topics, int topic,
                    const std::function<Status(const testkit::MomRunner&)>& measure_with,
                    const std::vector<std::pair<std::string, std::string>>& adapter_options = {}, bool v6 = false) {
        TEMPOS_ASSIGN_OR_RETURN(auto mom,
                                start_bench_mom(rig_.net, mode, topics, {.adapter_options = adapter_options}));
        StreamResult ignored;
        const Status warm = v6 ? measure(kMomIp6, kSub1Ip6, topic, ignored, {}, 0.3)
                               : measure(p2p::kMomIp, p2p::kSub1Ip, topic, ignored, {}, 0.3);
        if (!warm) return warm.prefixed("warm-up");
        TEMPOS_RETURN_IF_ERROR(measure_with(mom));
        return mom.stop();
    }

    // Strict events from tempos-pub to `target_ip`, received by tempos-sub on sub1 at `listen_ip`; while they
    // flow, `flood` runs in this thread.
    Status measure(const std::string& target_ip, const std::string& listen_ip, int topic, StreamResult& l,
                   const std::function<Status()>& flood = {}, double seconds = 0) {
        const auto count = static_cast<std::uint64_t>(o_.rate * (seconds > 0 ? seconds : o_.seconds));
        TEMPOS_ASSIGN_OR_RETURN(
            l, run_stream(rig_.net, {target_ip, listen_ip, topic, count, o_.rate, o_.endpoint_priority, o_.pub_cpu},
                          [&](testkit::Process&, std::uint64_t) { return flood ? flood() : Status::ok(); }));
        return Status::ok();
    }

    // kCounters now: the interfaces' drops, the nodes' Udp InErrors, the MoM's /metrics and CPU times.
    Result<Counters> read_counters(const testkit::MomRunner& mom) const {
        Counters c;
        TEMPOS_ASSIGN_OR_RETURN(auto drops, rig_.net.drops());
        for (const testkit::NodeInterfaceDrops& i : drops) {
            const std::string at = i.node + (i.drops.ifname == "eth0" ? "" : "_" + i.drops.ifname);
            c[at + "_rx_dropped"] = static_cast<double>(i.drops.rx_dropped);
            c[at + "_tx_dropped"] = static_cast<double>(i.drops.tx_dropped);
        }
        for (const char* node : {"sub1", "sub2"}) {
            TEMPOS_ASSIGN_OR_RETURN(auto in_errors, testkit::netns_udp_counter(rig_.net.ns(node), "InErrors"));
            c[std::string(node) + "_udp_in_errors"] = static_cast<double>(in_errors);
        }
        TEMPOS_ASSIGN_OR_RETURN(auto metrics, mom.scrape_metrics());
        for (const Counter& k : kCounters)
            if (k.metric) c[k.key] = testkit::sum_metric(metrics, k.metric, k.labels);
        c["mom_cpu_s"] = task_cpu_seconds(testkit::read_text("/proc/" + std::to_string(mom.pid()) + "/stat"));
        c["cpumap_cpu_s"] = 0;
        for (const auto& task : std::filesystem::directory_iterator("/proc")) {
            const std::string text = testkit::read_text(task.path() / "stat");
            if (text.find("(cpumap/") != std::string::npos) c["cpumap_cpu_s"] += task_cpu_seconds(text);
        }
        // The "cpu" line of /proc/stat: cpu user nice system idle iowait irq softirq (clock ticks).
        c["softirq_cpu_s"] = ticks_to_s(words(testkit::read_text("/proc/stat")).at(7));
        return c;
    }

    // mpps < 0: no flood; 0: the generator unpaced.
    Result<IsolationPoint> measure_under_flood(const testkit::MomRunner& mom, double mpps) {
        TEMPOS_ASSIGN_OR_RETURN(auto before, read_counters(mom));
        IsolationPoint p;
        if (mpps < 0) {
            TEMPOS_RETURN_IF_ERROR(measure(p2p::kMomIp, p2p::kSub1Ip, kStrictTopic, p.strict));
        } else {
            TEMPOS_ASSIGN_OR_RETURN(auto flood_sub, start_sub(rig_.net, "sub2", p2p::kSub2Ip, 0, o_.seconds + 10));
            TEMPOS_ASSIGN_OR_RETURN(auto in_before, testkit::udp_counter(flood_sub.pid(), "InDatagrams"));
            GeneratorRun g;
            auto flood = [&]() -> Status {  // slightly longer than the strict run, so that it covers it whole
                TEMPOS_ASSIGN_OR_RETURN(g, rig_.send(mpps * 1e6, o_.seconds + 0.3));
                return Status::ok();
            };
            TEMPOS_RETURN_IF_ERROR(measure(p2p::kMomIp, p2p::kSub1Ip, kStrictTopic, p.strict, flood));
            // Delivered = what sub2's kernel queued to its socket, once nothing more is on its way.
            const std::uint64_t in = wait_arrived(flood_sub, in_before + g.frames, std::chrono::milliseconds(100),
                                                  std::chrono::seconds(3));
            if (const Result<nlohmann::json> report = collect_sub(flood_sub); !report)
                return report.status().prefixed("flood");
            p.flood_sent = static_cast<double>(g.frames);
            p.flood_device_dropped = static_cast<double>(g.device_dropped);
            p.flood_delivered = static_cast<double>(in - in_before);
            p.flood_offered_mpps = g.rate_pps() / 1e6;
            p.flood_delivered_mpps = g.seconds > 0 ? p.flood_delivered / g.seconds / 1e6 : 0;
        }
        TEMPOS_ASSIGN_OR_RETURN(auto after, read_counters(mom));
        for (const Counter& k : kCounters) {
            const auto now = after.find(k.key), then = before.find(k.key);
            if (now == after.end() || then == before.end())
                return measurement_error(std::string("no counter ") + k.key);
            p.counters[k.key] = now->second - then->second;
        }
        return p;
    }

    // One step of an isolation curve, with every counter that moved.
    static nlohmann::ordered_json step_row(const IsolationPoint& x) {
        nlohmann::ordered_json row{
            {"offered_mpps", round_to(x.flood_offered_mpps, 4)},
            {"delivered_mpps", round_to(x.flood_delivered_mpps, 4)},
            {"p50_us", round_to(x.strict.p50_us, 2)},
            {"p99_us", round_to(x.strict.p99_us, 2)},
            {"p999_us", round_to(x.strict.p999_us, 2)},
            {"max_us", round_to(x.strict.max_us, 2)},
            {"strict_sent", static_cast<std::uint64_t>(x.strict.sent)},
            {"strict_received", static_cast<std::uint64_t>(x.strict.unique)},
            {"strict_delivered", round_to(x.strict.delivered(), 5)},
            // tempos-pub's datagrams mom:eth0's full ring refused (pub:eth0 counts them, mom:eth0 does not; both
            // count the live-frames generator's, pub:eth0 and the AF_PACKET generator itself count its)
            {"strict_pub_tx_dropped",
             x.counters.at("pub_tx_dropped") - x.counters.at("mom_rx_dropped") - x.flood_device_dropped},
            {"flood_device_dropped", x.flood_device_dropped},
            {"flood_sent", x.flood_sent},
            {"flood_delivered", x.flood_delivered},
            {"be_counted", x.be_counted()},
            {"be_unaccounted", x.be_unaccounted()},
            {"mom_cpu_ms_per_mev", round_to(x.cpu_ms_per_mev("mom_cpu_s"), 1)},
            {"softirq_ms_per_mev", round_to(x.cpu_ms_per_mev("softirq_cpu_s"), 1)},
            {"cpumap_ms_per_mev", round_to(x.cpu_ms_per_mev("cpumap_cpu_s"), 1)}};
        for (const Counter& k : kCounters)
            if (!std::string_view(k.key).ends_with("_cpu_s")) row["drops"][k.key] = x.counters.at(k.key);
        return row;
    }

    Report report(const Paths& paths, const std::map<std::string, std::vector<IsolationPoint>>& isolation) const {
        Report out;
        for (const auto& [name, l] : paths) {
            const bool v6 = name.ends_with("_v6");  // lat_xdp_p50_us_v6 beside lat_xdp_p50_us
            const std::string p = "lat_" + name.substr(0, name.size() - (v6 ? 3 : 0)), suffix = v6 ? "_v6" : "";
            out.number(p + "_p50_us" + suffix, l.p50_us, 2)
                .number(p + "_p99_us" + suffix, l.p99_us, 2)
                .number(p + "_p999_us" + suffix, l.p999_us, 2)
                .number(p + "_delivered" + suffix, l.delivered(), 5);
        }
        out.number("lat_xdp_added_p50_us", paths[1].second.p50_us - paths[0].second.p50_us, 2);
        // The `on` configuration under the field names of the single sweep that came before.
        const std::vector<IsolationPoint>& on = isolation.at("on");
        const IsolationPoint& idle = on.front();
        const IsolationPoint& heaviest = on.back();
        const double ratio = idle.strict.p99_us > 0 ? heaviest.strict.p99_us / idle.strict.p99_us : 0;
        out.number("lat_strict_idle_p50_us", idle.strict.p50_us, 2)
            .number("lat_strict_idle_p99_us", idle.strict.p99_us, 2)
            .number("lat_strict_flood_p50_us", heaviest.strict.p50_us, 2)
            .number("lat_strict_flood_p99_us", heaviest.strict.p99_us, 2)
            .number("lat_strict_flood_p999_us", heaviest.strict.p999_us, 2)
            .number("lat_strict_flood_delivered", heaviest.strict.delivered(), 5)
            .number("lat_strict_flood_ratio", ratio, 3)
            .number("lat_flood_max_offered_mpps", heaviest.flood_offered_mpps, 4)
            .number("lat_flood_max_delivered_mpps", heaviest.flood_delivered_mpps, 4)
            .number("lat_strict_flood_lost", heaviest.strict.lost(), 0);
        for (const char* k : {"pub_tx_dropped", "mom_rx_dropped", "sub1_rx_dropped", "sub1_udp_in_errors"})
            out.number(std::string("lat_flood_") + k, heaviest.counters.at(k), 0);
        nlohmann::ordered_json curve = nlohmann::ordered_json::array();
        for (const IsolationPoint& p : on)
            curve.push_back({round_to(p.flood_offered_mpps, 4), round_to(p.flood_delivered_mpps, 4),
                             round_to(p.strict.p50_us, 2), round_to(p.strict.p99_us, 2),
                             round_to(p.strict.delivered(), 5)});
        out.raw("isolation_curve", std::move(curve));
        for (const IsolationConfig& c : kIsolationConfigs) {
            const std::vector<IsolationPoint>& points = isolation.at(c.name);
            const IsolationPoint &i = points.front(), &h = points.back();
            const std::string p = "lat_strict_" + std::string(c.name), name = c.name;
            double max_lost = 0;
            nlohmann::ordered_json rows = nlohmann::ordered_json::array();
            for (const IsolationPoint& x : points) {
                max_lost = std::max(max_lost, x.strict.lost());
                rows.push_back(step_row(x));
            }
            out.number(p + "_idle_p99_us", i.strict.p99_us, 2)
                .number(p + "_flood_p99_us", h.strict.p99_us, 2)
                .number(p + "_flood_p999_us", h.strict.p999_us, 2)
                .number(p + "_flood_ratio", i.strict.p99_us > 0 ? h.strict.p99_us / i.strict.p99_us : 0, 3)
                .number(p + "_max_strict_lost", max_lost, 0)
                .number("lat_be_" + name + "_flood_delivered_mpps", h.flood_delivered_mpps, 4)
                .number("lat_be_" + name + "_unaccounted", h.be_unaccounted(), 0)
                .number("lat_" + name + "_mom_cpu_ms_per_mev", h.cpu_ms_per_mev("mom_cpu_s"), 1)
                .number("lat_" + name + "_softirq_ms_per_mev", h.cpu_ms_per_mev("softirq_cpu_s"), 1)
                .number("lat_" + name + "_cpumap_ms_per_mev", h.cpu_ms_per_mev("cpumap_cpu_s"), 1)
                .raw("isolation_" + name + "_curve", std::move(rows));
        }
        out.raw("latency_xdp_mode", o_.xdp_mode)
            .raw("latency_generator", rig_.generator())
            .number("latency_sub_xdp_pass", o_.xdp_mode == "native" ? 1 : 0, 0)
            .number("latency_endpoint_priority", o_.endpoint_priority, 0)
            .number("latency_queues", o_.queues, 0)
            .number("latency_rate_eps", o_.rate, 0)
            .number("latency_seconds", o_.seconds, 2)
            .number("best_effort_nice", o_.best_effort_nice, 0);
        return out;
    }

    LiveRig rig_;
};

void register_latency_command(CLI::App& app, int& exit_code) { add_bench<LatencyBench>(app, "latency", exit_code); }

}  // namespace tempos::bench
