#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench_mom.hpp"  // start_bound
#include "peers.hpp"
#include "process/temp_dir.hpp"
#include "topology/layouts.hpp"

namespace tempos::bench {

namespace {

using peers::StreamStats;

struct PeersOptions : CommonOptions, peers::RunSettings {  // --seconds: publishing time of each run
    std::string only;  // empty: every broker

    void apply_quick() { std::tie(seconds, warmup_seconds) = std::pair{1.0, 0.2}; }
    void add_options(CLI::App* cmd) {
        cmd->add_option("--only", only, "Run one broker only")
            ->check(CLI::IsMember({"mosquitto", "nats", "dds", "sockperf"}));
        cmd->add_option("--warmup", warmup_seconds, "Unmeasured start of each run, seconds")
            ->check(CLI::Range(0.0, 60.0));
    }
};

struct PeerResult {
    const peers::Broker* broker = nullptr;
    StreamStats latency, max, flood_paced, flood;
};

Status run_peer(const peers::Broker& b, const std::string& program_path, const PeersOptions& o, PeerResult& r) {
    TEMPOS_ASSIGN_OR_RETURN(auto topo, testkit::one_legged(2));
    const testkit::TempDir scratch("peers");  // configuration files
    if (scratch.path().empty()) return measurement_error("cannot create a scratch directory in /tmp");
    TEMPOS_ASSIGN_OR_RETURN(auto argv, b.command_line(program_path, topo.ip("mom"), b.port, scratch.path().string()));
    const auto port = static_cast<std::uint16_t>(b.port);
    TEMPOS_ASSIGN_OR_RETURN(auto broker, start_bound(argv, {.netns = topo.ns("mom")}, port, true));
    const pid_t pid = broker.pid();
    auto with_log = [&](const Status& st) {
        if (interrupted()) return st;
        std::string e = st.message();
        if (!broker.running()) e += " [" + std::string(b.program) + " " + broker.how_it_ended() + "]";
        const std::string tail = broker.output_tail();
        return Status::error(st.code(), tail.empty() ? e : e + "\n" + b.program + " log:\n" + tail);
    };
    b.open();
    struct Run {
        const char* what;
        std::vector<peers::StreamPlan> streams;
        std::vector<StreamStats*> out;
    };
    const Run runs[] = {
        {"1:1 latency", {{"tempos-latency", "sub1", true, 1}}, {&r.latency}},  // at settings.rate
        {"max throughput", {{"tempos-max", "sub1", false, 1}}, {&r.max}},      // as fast as the connection goes
        // The paced stream to sub1 while a second topic is flooded to sub2.
        {"latency under flood",
         {{"tempos-strict", "sub1", true, 1}, {"tempos-flood", "sub2", false, 2}},
         {&r.flood_paced, &r.flood}},
    };
    for (const Run& run : runs) {
        if (Status st = peers::run_streams(b, topo, o, run.streams, run.out); !st) return with_log(st);
        if (!broker.running()) return with_log(measurement_error(std::string(run.what) + ": the broker ended"));
        // The next run starts once the broker has dropped this run's connections.
        if (Status st = broker.wait_until([&] { return testkit::tcp_connections(pid, port) == 0; },
                                          std::chrono::seconds(5), "the old connections closed");
            !st)
            return with_log(st);
    }
    for (const auto& [end, st] : {std::pair{"subscriber was cut off", &r.flood.subscriber},
                                  std::pair{"publisher failed", &r.flood.publisher}})
        if (!*st) std::fprintf(stderr, "peers: %s: the flood's %s: %s\n", b.name, end, st->message().c_str());
    if (Result<int> stopped = broker.terminate(std::chrono::seconds(3)); !stopped)
        std::fprintf(stderr, "peers: %s: %s\n", b.name, stopped.message().c_str());
    return Status::ok();
}

// The 1-minute load average: the figures depend on it on a small machine, so it goes with them.
double load_average() {
    double one = -1;
    std::ifstream("/proc/loadavg") >> one;
    return one;
}

Report report(const std::vector<PeerResult>& results, const PeersOptions& s, double load_before) {
    Report out;
    out.number("peers_rate", s.rate, 0)
        .number("peers_seconds", s.seconds, 2)
        .number("peers_warmup_s", s.warmup_seconds, 2)
        .number("peers_payload_bytes", static_cast<double>(s.payload_bytes), 0)
        .number("peers_endpoint_priority", s.endpoint_priority, 0)
        .number("peers_loadavg_before", load_before, 2)
        .number("peers_loadavg_after", load_average(), 2);
    for (const PeerResult& r : results) {
        const std::string p = r.broker->name;
        auto latency = [&](const std::string& prefix, const StreamStats& st) {
            out.number(prefix + "_p50_us", st.latency.p50_us, 2)
                .number(prefix + "_p99_us", st.latency.p99_us, 2)
                .number(prefix + "_p999_us", st.latency.p999_us, 2);
        };
        latency(p, r.latency);
        out.number(p + "_sent", static_cast<double>(r.latency.sent_measured), 0)
            .number(p + "_lost", static_cast<double>(r.latency.lost_measured()), 0)
            .number(p + "_max_msgs", r.max.delivered_per_s, 0)
            .number(p + "_max_offered_msgs", r.max.offered_per_s, 0)
            .number(p + "_max_lost", static_cast<double>(r.max.lost_measured()), 0);
        latency(p + "_flood", r.flood_paced);
        out.number(p + "_flood_lost", static_cast<double>(r.flood_paced.lost_measured()), 0)
            .number(p + "_flood_msgs", r.flood.delivered_per_s, 0)
            .number(p + "_flood_offered_msgs", r.flood.offered_per_s, 0)
            .number(p + "_flood_flood_lost", static_cast<double>(r.flood.lost_measured()), 0)
            .number(p + "_flood_cut_off", r.flood.subscriber ? 0 : 1, 0);
    }
    return out;
}

Result<Report> run_peers(const PeersOptions& o) {
    if (o.warmup_seconds >= o.seconds)
        return Status::error(ErrorCode::invalid_argument, "--warmup must be shorter than --seconds");
    const double load_before = load_average();
    std::vector<PeerResult> results;
    for (const peers::Broker* b : {&peers::kMosquitto, &peers::kNats}) {
        if (!o.only.empty() && o.only != b->name) continue;
        TEMPOS_ASSIGN_OR_RETURN(auto path, peers::find_tool(b->program, b->package));
        PeerResult& r = results.emplace_back();
        r.broker = b;
        if (Status st = run_peer(*b, path, o, r); !st) return st.prefixed(b->name);
    }
    Report out = report(results, o, load_before);
    TEMPOS_RETURN_IF_ERROR(peers::run_tool_peers(o, o.only, out));
    return out;
}

}  // namespace

void register_peers_command(CLI::App& app, int& exit_code) { add_bench(app, "peers", exit_code, run_peers); }

}  // namespace tempos::bench
