// `tempos-bench all`: runs every other registered subcommand as a child process (--json), --runs times,
// interleaved, and merges their flat JSON objects into one: each numeric field is the median over the runs,
// with `<field>_min` and `<field>_max`; every run's raw object is kept under "runs". A subcommand that fails or
// a required field that is missing is reported under "errors" / "missing_fields" (exit status 1).
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::bench {

void register_all_command(CLI::App& app, const char* name, int& exit_code);

}  // namespace tempos::bench
