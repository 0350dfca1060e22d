// tempos-testkit's process subcommands.
#include "cli/commands.hpp"

namespace tempos::testkit {

void add_process_commands(CLI::App& /*app*/) {}

}  // namespace tempos::testkit
