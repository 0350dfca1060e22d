// tempos-bench: benchmarks of the XDP delivery path. One subcommand per benchmark, registered from the table
// below; each lives in its own <name>_command.cpp (commands.hpp).
#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace {

// Adds subcommand `name` to the app; its exit status goes to the int.
using RegisterFn = void (*)(CLI::App&, const char* name, int&);

struct BenchCommand {
    const char* name;
    RegisterFn register_fn;
};

// `all` runs every other registered subcommand; fanout slots in here too.
constexpr BenchCommand kCommands[] = {
    {"prog", tempos::bench::register_prog_command},
    {"throughput", tempos::bench::register_throughput_command},
    {"latency", tempos::bench::register_latency_command},
    {"fanout", tempos::bench::register_fanout_command},
    {"all", tempos::bench::register_all_command},
    {"peers", tempos::bench::register_peers_command},
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tempos-bench: benchmarks of the tempos XDP delivery path"};
    app.require_subcommand(1);
    int exit_code = 0;
    for (const BenchCommand& c : kCommands) c.register_fn(app, c.name, exit_code);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
