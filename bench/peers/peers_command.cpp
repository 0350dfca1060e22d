#include "commands.hpp"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker_process.hpp"
#include "interrupt.hpp"
#include "namespace_topology.hpp"
#include "peer_brokers.hpp"
#include "peer_runs.hpp"
#include "subcommand.hpp"

#ifndef TEMPOS_TOPOLOGY_SCRIPT
#error "TEMPOS_TOPOLOGY_SCRIPT (path of scripts/lib/topology.sh) must be defined by the build"
#endif

namespace tempos::bench {

namespace {

using peers::PeerBroker;
using peers::StreamStats;

struct PeersOptions : CommonOptions {
    bool verbose = false;
    std::string only;  // empty: every broker
    std::string topology_script = TEMPOS_TOPOLOGY_SCRIPT;
    peers::RunSettings settings;
};

struct PeerResult {
    const PeerBroker* broker = nullptr;
    StreamStats latency, max, flood_paced, flood;
};

// A private directory for configuration files and broker logs, removed afterwards.
class ScratchDir {
public:
    ScratchDir() {
        char tmpl[] = "/tmp/tempos-peers-XXXXXX";
        if (mkdtemp(tmpl)) path_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string run_peer(const PeerBroker& b, const std::string& program_path, const PeersOptions& o, PeerResult& r) {
    auto note = [&](const char* what) {
        if (o.verbose) std::fprintf(stderr, "peers: %s: %s\n", b.name, what);
    };
    std::string error;
    note("creating the topology");
    auto topo = peers::NamespaceTopology::create(o.topology_script, 2, error);
    if (!topo) return error;
    ScratchDir dir;
    if (dir.path().empty()) return "cannot create a scratch directory in /tmp";
    const std::string ip = topo->ip("mom");
    std::vector<std::string> argv;
    if (error = b.command_line(program_path, ip, b.port, dir.path(), argv); !error.empty()) return error;
    note("starting the broker in mom");
    auto broker = peers::BrokerProcess::start(topo->ns("mom"), argv, dir.path() + "/broker.log", error);
    if (!broker) return error;
    auto with_log = [&](std::string e) {
        if (interrupted()) return e;
        if (std::string ended = broker->exited(); !ended.empty()) e += " [" + ended + "]";
        const std::string tail = broker->log_tail();
        return tail.empty() ? e : e + "\n" + b.program + " log:\n" + tail;
    };
    if (error = broker->wait_listening(topo->ns("pub"), ip, b.port, 5.0); !error.empty()) return with_log(error);
    auto client = b.client(ip, b.port);

    struct Run {
        const char* what;
        std::function<Status()> go;
    };
    const std::vector<Run> runs{
        {"1:1 latency", [&] { return peers::run_latency(*client, *topo, o.settings, r.latency); }},
        {"max throughput", [&] { return peers::run_max_throughput(*client, *topo, o.settings, r.max); }},
        {"latency under flood",
         [&] { return peers::run_under_flood(*client, *topo, o.settings, r.flood_paced, r.flood); }},
    };
    for (const Run& run : runs) {
        note(run.what);
        if (Status st = run.go(); !st) return with_log(st.message());
        if (std::string ended = broker->exited(); !ended.empty()) return with_log(std::string(run.what) + ": " + ended);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the broker drop the old connections
    }
    if (!r.flood.subscriber_error.empty())
        std::fprintf(stderr, "peers: %s: the flood's subscriber was cut off: %s\n", b.name,
                     r.flood.subscriber_error.c_str());
    if (!r.flood.publisher_error.empty())
        std::fprintf(stderr, "peers: %s: the flood's publisher failed: %s\n", b.name, r.flood.publisher_error.c_str());
    note("stopping the broker");
    if (error = broker->stop(); !error.empty()) std::fprintf(stderr, "peers: %s: %s\n", b.name, error.c_str());
    if (o.verbose) std::fprintf(stderr, "peers: %s: end of its log:\n%s", b.name, broker->log_tail(60).c_str());
    return {};
}

// The 1-minute load average: the figures depend on it on a small machine, so it goes with them.
double load_average() {
    double one = -1;
    if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &one) != 1) one = -1;
        std::fclose(f);
    }
    return one;
}

Report report(const std::vector<PeerResult>& results, const PeersOptions& o, double load_before) {
    const peers::RunSettings& s = o.settings;
    const double load_after = load_average();
    Report out;
    out.number("peers_rate", s.rate, 0)
        .number("peers_seconds", s.seconds, 2)
        .number("peers_warmup_s", s.warmup_seconds, 2)
        .number("peers_payload_bytes", static_cast<double>(s.payload_bytes), 0)
        .number("peers_endpoint_priority", s.endpoint_priority, 0)
        .number("peers_loadavg_before", load_before, 2)
        .number("peers_loadavg_after", load_after, 2);
    out.line("%-10s %-22s %10s %9s %9s %9s %9s %12s", "peer", "run", "sent", "lost", "p50_us", "p99_us", "p99.9_us",
             "delivered/s");
    char paced[64];
    std::snprintf(paced, sizeof(paced), "%.0f msg/s", s.rate);
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
            .number(p + "_flood_cut_off", r.flood.subscriber_error.empty() ? 0 : 1, 0);
        auto row = [&](const std::string& run, const StreamStats& st, bool with_latency) {
            char l[64] = "        -         -         -";
            if (with_latency)
                std::snprintf(l, sizeof(l), "%9.1f %9.1f %9.1f", st.latency.p50_us, st.latency.p99_us,
                              st.latency.p999_us);
            out.line("%-10s %-22s %10llu %9llu %s %12.0f", p.c_str(), run.c_str(),
                     static_cast<unsigned long long>(st.sent_measured),
                     static_cast<unsigned long long>(st.lost_measured()), l, st.delivered_per_s);
        };
        row(paced, r.latency, true);
        row("max throughput", r.max, false);
        row(std::string(paced) + " under flood", r.flood_paced, true);
        row("  the flood itself", r.flood, false);
    }
    out.line("[%zu-byte payloads; %.1f s per run, the first %.1f s not measured; sent/lost count messages sent "
             "after the warm-up; one-way latency publisher(pub) -> broker(mom) -> subscriber(sub1)]",
             s.payload_bytes, s.seconds, s.warmup_seconds);
    out.line("[paced endpoints at %s; load average (1 min) %.2f before, %.2f after]",
             s.endpoint_priority > 0 ? ("SCHED_FIFO " + std::to_string(s.endpoint_priority)).c_str()
                                     : "normal scheduling",
             load_before, load_after);
    return out;
}

Result<Report> run_peers(const PeersOptions& o) {
    if (o.settings.warmup_seconds >= o.settings.seconds)
        return Status::error(ErrorCode::invalid_argument, "--warmup must be shorter than --seconds");
    std::vector<std::pair<const PeerBroker*, std::string>> selected;
    for (const PeerBroker& b : peers::peer_brokers()) {
        if (!o.only.empty() && o.only != b.name) continue;
        const std::string path = peers::find_program(b.program);
        if (path.empty())
            return Status::error(ErrorCode::not_found,
                                 std::string(b.program) +
                                     " not found (PATH, /usr/sbin, /usr/local/sbin, /sbin); install it: apt-get install " +
                                     b.package);
        selected.emplace_back(&b, path);
    }
    const double load_before = load_average();
    install_interrupt_handler();  // ends the runs early; brokers and namespaces are still cleaned up
    std::vector<PeerResult> results;
    for (const auto& [broker, path] : selected) {
        PeerResult r;
        r.broker = broker;
        if (std::string e = run_peer(*broker, path, o, r); !e.empty())
            return measurement_error(std::string(broker->name) + ": " + e);
        results.push_back(std::move(r));
    }
    return report(results, o, load_before);
}

}  // namespace

void register_peers_command(CLI::App& app, const char* name, int& exit_code) {
    auto options = std::make_shared<PeersOptions>();
    CLI::App* cmd = add_subcommand<PeersOptions>(
        app, name,
        "Mosquitto and nats-server on the same namespace topology: 1:1 latency, max throughput, latency under a "
        "flood of another topic",
        exit_code, options, nullptr, nullptr, run_peers);
    cmd->add_flag("-v,--verbose", options->verbose, "Progress on stderr");
    cmd->add_option("--only", options->only, "Run one broker only")->check(CLI::IsMember({"mosquitto", "nats"}));
    cmd->add_option("--rate", options->settings.rate, "Paced stream, messages per second")
        ->check(CLI::Range(1.0, 1e6))
        ->capture_default_str();
    cmd->add_option("--seconds", options->settings.seconds, "Publishing time of each run")
        ->check(CLI::Range(0.2, 600.0))
        ->capture_default_str();
    cmd->add_option("--warmup", options->settings.warmup_seconds, "Unmeasured start of each run, seconds")
        ->check(CLI::Range(0.0, 60.0))
        ->capture_default_str();
    cmd->add_option("--endpoint-priority", options->settings.endpoint_priority,
                    "SCHED_FIFO priority of the paced stream's publisher and subscriber (they stand for other hosts, "
                    "as in `latency`; 0: normal scheduling)")
        ->check(CLI::Range(0, 99))
        ->capture_default_str();
    cmd->add_option("--topology", options->topology_script, "scripts/lib/topology.sh to build the namespaces with")
        ->capture_default_str();
}

}  // namespace tempos::bench
