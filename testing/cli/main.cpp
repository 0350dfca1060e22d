// tempos-testkit: the test kit for shell scenarios (tests/e2e): the same topology, MoM runner and frame
// builder the C++ tests and tempos-bench link, one subcommand per job.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"tempos-testkit: topologies, the MoM runner and frames for the e2e scenarios"};
    app.require_subcommand(1);
    tempos::testkit::add_topology_commands(app);
    tempos::testkit::add_process_commands(app);
    tempos::testkit::add_etcd_commands(app);
    tempos::testkit::add_frame_commands(app);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
