// tempos-bench: benchmarks of the XDP delivery path. One subcommand per benchmark, each in its own
// <name>_command.cpp (commands.hpp).
#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
    using namespace tempos::bench;
    CLI::App app{"tempos-bench: benchmarks of the tempos XDP delivery path"};
    app.require_subcommand(1);
    app.option_defaults()->always_capture_default();  // --help shows every option's default
    int exit_code = 0;
    register_prog_command(app, "prog", exit_code);
    register_throughput_command(app, "throughput", exit_code);
    register_latency_command(app, "latency", exit_code);
    register_fanout_command(app, "fanout", exit_code);
    register_restart_command(app, "restart", exit_code);
    register_cluster_command(app, "cluster", exit_code);
    register_all_command(app, "all", exit_code);  // runs every other subcommand registered here
    register_peers_command(app, "peers", exit_code);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
