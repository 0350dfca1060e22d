// `tempos-bench peers`: latency, throughput and isolation of Mosquitto and NATS on the project's topology.
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::bench {

// Adds the subcommand `name` to `app`; when it runs, its exit status goes to `exit_code`.
void register_peers_command(CLI::App& app, const char* name, int& exit_code);

}  // namespace tempos::bench
