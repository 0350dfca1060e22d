// tempos-bench: benchmarks of the XDP delivery path. One subcommand per benchmark, each in its own
// <name>_command.cpp, which adds it (subcommand.hpp: add_bench) and puts its exit status in `exit_code` when it runs.
#include <CLI/CLI.hpp>

namespace tempos::bench {
void register_prog_command(CLI::App& app, int& exit_code);
void register_throughput_command(CLI::App& app, int& exit_code);
void register_latency_command(CLI::App& app, int& exit_code);
void register_fanout_command(CLI::App& app, int& exit_code);
void register_restart_command(CLI::App& app, int& exit_code);
void register_cluster_command(CLI::App& app, int& exit_code);
void register_peers_command(CLI::App& app, int& exit_code);
void register_all_command(CLI::App& app, int& exit_code);  // runs every other subcommand (all_command.cpp)
}  // namespace tempos::bench

int main(int argc, char** argv) {
    using namespace tempos::bench;
    CLI::App app{"tempos-bench: benchmarks of the tempos XDP delivery path"};
    app.require_subcommand(1);
    app.option_defaults()->always_capture_default();  // --help shows every option's default
    int exit_code = 0;
    // `all` runs the others in this order, and its JSON has their fields in it. Each with what it measures and
    // what its --quick does.
    const struct {
        void (*add)(CLI::App&, int&);
        const char *about, *quick;
    } subcommands[] = {
        {register_prog_command,
         "Per-packet cost (BPF_PROG_TEST_RUN) of our XDP router, the thesis's program and an empty one",
         "Smoke run: 1e5 repetitions, one run, 1000 pairs per fixture (not a measurement)"},
        {register_throughput_command,
         "Delivered Mpps and loss: XDP strict path vs the MoM's socket path vs a bare recvmmsg forwarder",
         "Smoke run: 0.2 s steps, one paced rate (not a measurement)"},
        {register_latency_command,
         "One-way latency tempos-pub -> tempos-sub: direct, XDP strict, socket paths; strict under a flood",
         "Smoke run: 0.3 s measurements, one paced flood rate (not a measurement)"},
        {register_fanout_command,
         "Delivered copies per second for 1, 2, 4, 8 subscription groups: kernel fan-out vs the socket path",
         "Smoke run: 0.2 s steps, groups 1 and 4, one paced rate (not a measurement)"},
        {register_restart_command,
         "Strict events lost and the longest delivery gap across a restart, a crash and an upgrade of tempos-mom, "
         "with and without persist",
         "Smoke run: 4000 events per case (not a measurement)"},
        {register_cluster_command,
         "Propagation of a topic change from etcd to three brokers' kernel paths, idle and under member churn, and a "
         "broker's full resync",
         "Smoke run: 20 changes, 16 topics (not a measurement)"},
        {register_all_command, nullptr, nullptr},  // its own help (all_command.cpp)
        {register_peers_command,
         "Mosquitto and nats-server on the same namespace topology: 1:1 latency, max throughput, latency under a "
         "flood of another topic; Cyclone DDS (ddsperf) and sockperf round trips, idle and under a flood",
         "Smoke run: 1 s per run (not a measurement)"},
    };
    for (const auto& s : subcommands) {
        s.add(app, exit_code);
        CLI::App* added = app.get_subcommands([](CLI::App*) { return true; }).back();
        if (s.about) added->description(s.about)->get_option("--quick")->description(s.quick);
    }
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
