// `tempos-bench prog`: per-packet cost of our XDP router vs the thesis's program vs an empty XDP program.
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::bench {

// Adds the subcommand `name` to `app`; when it runs, its exit status goes to `exit_code`.
void register_prog_command(CLI::App& app, const char* name, int& exit_code);

}  // namespace tempos::bench
