// tempos-testkit's frames subcommands.
#include "cli/commands.hpp"

namespace tempos::testkit {

void add_frame_commands(CLI::App& /*app*/) {}

}  // namespace tempos::testkit
