// tempos-testkit's topology subcommands.
#include "cli/commands.hpp"

namespace tempos::testkit {

void add_topology_commands(CLI::App& /*app*/) {}

}  // namespace tempos::testkit
