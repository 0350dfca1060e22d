// The subcommands of tempos-testkit, one registration function per concern (defined in that concern's
// directory). A subcommand's callback returns on success; on failure it prints why to stderr and throws
// CLI::RuntimeError(exit_status).
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::testkit {

void add_topology_commands(CLI::App& app);  // topology/
void add_process_commands(CLI::App& app);   // process/
void add_etcd_commands(CLI::App& app);      // process/etcd_commands.cpp
void add_frame_commands(CLI::App& app);     // frames/

}  // namespace tempos::testkit
