#include "peers_command.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "namespace_topology.hpp"
#include "peer_brokers.hpp"
#include "peer_runs.hpp"
#include "process/process.hpp"
#include "topology/netns.hpp"

#ifndef TEMPOS_TOPOLOGY_SCRIPT
#error "TEMPOS_TOPOLOGY_SCRIPT (path of scripts/lib/topology.sh) must be defined by the build"
#endif

namespace tempos::bench {

namespace {

using peers::PeerBroker;
using peers::StreamStats;

struct PeersOptions {
    bool json = false;
    bool verbose = false;
    std::string only;  // empty: every broker
    std::string topology_script = TEMPOS_TOPOLOGY_SCRIPT;
    peers::RunSettings settings;
};

struct PeerResult {
    const PeerBroker* broker = nullptr;
    StreamStats latency, max, flood_paced, flood;
};

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

// SIGINT/SIGTERM end the runs early; brokers and namespaces are still cleaned up.
class StopSignals {
public:
    StopSignals() {
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~StopSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

// One TCP connection attempt to ip:port from namespace `ns`.
bool accepts_connections(const std::string& ns, const std::string& ip, int port) {
    bool connected = false;
    const Status entered = testkit::run_in_netns(ns, [&] {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return Status::ok();
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
        connected = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        close(fd);
        return Status::ok();
    });
    return entered && connected;
}

std::string run_peer(const PeerBroker& b, const std::string& program_path, const PeersOptions& o, PeerResult& r) {
    auto note = [&](const char* what) {
        if (o.verbose) std::fprintf(stderr, "peers: %s: %s\n", b.name, what);
    };
    std::string error;
    note("creating the topology");
    auto topo = peers::NamespaceTopology::create(o.topology_script, 2, error);
    if (!topo) return error;
    const testkit::TempDir scratch("peers");  // configuration files and broker logs
    if (scratch.path().empty()) return "cannot create a scratch directory in /tmp";
    const std::string dir = scratch.path().string();
    const std::string ip = topo->ip("mom");
    std::vector<std::string> argv;
    if (error = b.command_line(program_path, ip, b.port, dir, argv); !error.empty()) return error;
    note("starting the broker in mom");
    const std::string log = dir + "/broker.log";
    Result<testkit::Process> started =
        testkit::Process::start(argv, {.netns = topo->ns("mom"), .stdout_file = log, .stderr_file = log});
    if (!started) return started.message();
    testkit::Process& broker = *started;
    auto with_log = [&](std::string e) {
        if (g_stop.load()) return e;
        if (!broker.running()) e += " [" + std::string(b.program) + " " + broker.how_it_ended() + "]";
        const std::string tail = broker.output_tail();
        return tail.empty() ? e : e + "\n" + b.program + " log:\n" + tail;
    };
    // Ends early, with the end of its log, when the broker exits.
    if (Status up = broker.wait_until([&] { return accepts_connections(topo->ns("pub"), ip, b.port); },
                                      std::chrono::seconds(5), "listening on " + ip + ":" + std::to_string(b.port));
        !up)
        return up.message();
    auto client = b.client(ip, b.port);

    struct Run {
        const char* what;
        std::function<std::string()> go;
    };
    const std::vector<Run> runs{
        {"1:1 latency", [&] { return peers::run_latency(*client, *topo, o.settings, r.latency); }},
        {"max throughput", [&] { return peers::run_max_throughput(*client, *topo, o.settings, r.max); }},
        {"latency under flood",
         [&] { return peers::run_under_flood(*client, *topo, o.settings, r.flood_paced, r.flood); }},
    };
    for (const Run& run : runs) {
        note(run.what);
        if (error = run.go(); !error.empty()) return with_log(error);
        if (!broker.running()) return with_log(std::string(run.what) + ": the broker ended");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the broker drop the old connections
    }
    if (!r.flood.subscriber_error.empty())
        std::fprintf(stderr, "peers: %s: the flood's subscriber was cut off: %s\n", b.name,
                     r.flood.subscriber_error.c_str());
    if (!r.flood.publisher_error.empty())
        std::fprintf(stderr, "peers: %s: the flood's publisher failed: %s\n", b.name, r.flood.publisher_error.c_str());
    note("stopping the broker");
    if (Result<int> stopped = broker.terminate(std::chrono::seconds(3)); !stopped)
        std::fprintf(stderr, "peers: %s: %s\n", b.name, stopped.message().c_str());
    if (o.verbose) std::fprintf(stderr, "peers: %s: end of its log:\n%s", b.name, broker.output_tail(60).c_str());
    return {};
}

unsigned long long u(std::uint64_t v) { return static_cast<unsigned long long>(v); }

// The 1-minute load average: the figures depend on it on a small machine, so it goes with them.
double load_average() {
    double one = -1;
    if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &one) != 1) one = -1;
        std::fclose(f);
    }
    return one;
}

void print_json(const std::vector<PeerResult>& results, const PeersOptions& o, double load_before) {
    std::printf("{\"peers_rate\": %.0f, \"peers_seconds\": %.2f, \"peers_warmup_s\": %.2f, \"peers_payload_bytes\": %zu, "
                "\"peers_endpoint_priority\": %d, \"peers_loadavg_before\": %.2f, \"peers_loadavg_after\": %.2f",
                o.settings.rate, o.settings.seconds, o.settings.warmup_seconds, o.settings.payload_bytes,
                o.settings.endpoint_priority, load_before, load_average());
    for (const PeerResult& r : results) {
        const char* p = r.broker->name;
        std::printf(", \"%s_p50_us\": %.2f, \"%s_p99_us\": %.2f, \"%s_p999_us\": %.2f, \"%s_sent\": %llu, "
                    "\"%s_lost\": %llu",
                    p, r.latency.latency.p50_us, p, r.latency.latency.p99_us, p, r.latency.latency.p999_us, p,
                    u(r.latency.sent_measured), p, u(r.latency.lost_measured()));
        std::printf(", \"%s_max_msgs\": %.0f, \"%s_max_offered_msgs\": %.0f, \"%s_max_lost\": %llu", p,
                    r.max.delivered_per_s, p, r.max.offered_per_s, p, u(r.max.lost_measured()));
        std::printf(", \"%s_flood_p50_us\": %.2f, \"%s_flood_p99_us\": %.2f, \"%s_flood_p999_us\": %.2f, "
                    "\"%s_flood_lost\": %llu, \"%s_flood_msgs\": %.0f, \"%s_flood_offered_msgs\": %.0f, "
                    "\"%s_flood_flood_lost\": %llu, \"%s_flood_cut_off\": %d",
                    p, r.flood_paced.latency.p50_us, p, r.flood_paced.latency.p99_us, p,
                    r.flood_paced.latency.p999_us, p, u(r.flood_paced.lost_measured()), p, r.flood.delivered_per_s, p,
                    r.flood.offered_per_s, p, u(r.flood.lost_measured()), p,
                    r.flood.subscriber_error.empty() ? 0 : 1);
    }
    std::printf("}\n");
}

void print_text(const std::vector<PeerResult>& results, const PeersOptions& o, double load_before) {
    std::printf("%-10s %-22s %10s %9s %9s %9s %9s %12s\n", "peer", "run", "sent", "lost", "p50_us", "p99_us",
                "p99.9_us", "delivered/s");
    char paced[64];
    std::snprintf(paced, sizeof(paced), "%.0f msg/s", o.settings.rate);
    const std::string under_flood = std::string(paced) + " under flood";
    for (const PeerResult& r : results) {
        auto row = [&](const std::string& run, const StreamStats& s, bool with_latency) {
            if (with_latency)
                std::printf("%-10s %-22s %10llu %9llu %9.1f %9.1f %9.1f %12.0f\n", r.broker->name, run.c_str(),
                            u(s.sent_measured), u(s.lost_measured()), s.latency.p50_us, s.latency.p99_us,
                            s.latency.p999_us, s.delivered_per_s);
            else
                std::printf("%-10s %-22s %10llu %9llu %9s %9s %9s %12.0f\n", r.broker->name, run.c_str(),
                            u(s.sent_measured), u(s.lost_measured()), "-", "-", "-", s.delivered_per_s);
        };
        row(paced, r.latency, true);
        row("max throughput", r.max, false);
        row(under_flood, r.flood_paced, true);
        row("  the flood itself", r.flood, false);
    }
    std::printf("[%zu-byte payloads; %.1f s per run, the first %.1f s not measured; sent/lost count messages sent "
                "after the warm-up; one-way latency publisher(pub) -> broker(mom) -> subscriber(sub1)]\n",
                o.settings.payload_bytes, o.settings.seconds, o.settings.warmup_seconds);
    std::printf("[paced endpoints at %s; load average (1 min) %.2f before, %.2f after]\n",
                o.settings.endpoint_priority > 0
                    ? ("SCHED_FIFO " + std::to_string(o.settings.endpoint_priority)).c_str()
                    : "normal scheduling",
                load_before, load_average());
}

int run_peers(const PeersOptions& o) {
    if (o.settings.warmup_seconds >= o.settings.seconds) {
        std::fprintf(stderr, "tempos-bench peers: --warmup must be shorter than --seconds\n");
        return 1;
    }
    std::vector<std::pair<const PeerBroker*, std::string>> selected;
    for (const PeerBroker& b : peers::peer_brokers()) {
        if (!o.only.empty() && o.only != b.name) continue;
        const Result<std::filesystem::path> path = testkit::find_program(b.program);
        if (!path) {
            std::fprintf(stderr,
                         "tempos-bench peers: %s not found (PATH, /usr/sbin, /usr/local/sbin, /sbin); install it: "
                         "apt-get install %s\n",
                         b.program, b.package);
            return 1;
        }
        selected.emplace_back(&b, path->string());
    }
    const double load_before = load_average();
    StopSignals signals;
    g_stop.store(false);
    PeersOptions opts = o;
    opts.settings.stop = &g_stop;
    std::vector<PeerResult> results;
    for (const auto& [broker, path] : selected) {
        PeerResult r;
        r.broker = broker;
        if (std::string e = run_peer(*broker, path, opts, r); !e.empty()) {
            std::fprintf(stderr, "tempos-bench peers: %s: %s\n", broker->name, e.c_str());
            return g_stop.load() ? 130 : 1;
        }
        results.push_back(std::move(r));
    }
    if (o.json)
        print_json(results, opts, load_before);
    else
        print_text(results, opts, load_before);
    return 0;
}

}  // namespace

void register_peers_command(CLI::App& app, const char* name, int& exit_code) {
    auto options = std::make_shared<PeersOptions>();
    CLI::App* cmd = app.add_subcommand(
        name, "Mosquitto and nats-server on the same namespace topology: 1:1 latency, max throughput, latency "
              "under a flood of another topic");
    cmd->add_flag("--json", options->json, "Print one flat JSON object");
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
    cmd->callback([options, &exit_code] { exit_code = run_peers(*options); });
}

}  // namespace tempos::bench
