// What every tempos-bench subcommand shares: its report, the way it is registered and run, and interrupts.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

#include "tempos/status.hpp"

namespace tempos::bench {

// A subcommand's figures: one flat JSON object, fields in the order added, which `tempos-bench all` merges over
// runs and bench/render_report.py turns into docs/benchmarks.md (the field names are the ones documented there).
class Report {
public:
    // A figure rounded to `decimals` places (an integer with 0), null when not finite.
    Report& number(const std::string& key, double value, int decimals);
    Report& text(const std::string& key, std::string value);
    Report& raw(const std::string& key, nlohmann::ordered_json value);  // curves: arrays of points

    // The JSON object on one line, or one "field  value" line per field for a person.
    void print(bool as_json) const;

private:
    nlohmann::ordered_json fields_ = nlohmann::ordered_json::object();
};

// The options every subcommand has: --json, and --quick (a smoke run: the subcommand's own small settings).
struct CommonOptions {
    bool json = false;
    bool quick = false;
};

// SIGINT/SIGTERM for the live benchmarks: the handler only records the request; load loops stop at their next
// check and the subcommand returns normally, so destructors remove namespaces and stop tempos-mom or the brokers.
void install_interrupt_handler();
bool interrupted();

// Why a measurement failed (an OS call, a program that did not behave): the bench's usual error.
inline Status measurement_error(std::string why) { return Status::error(ErrorCode::system_error, std::move(why)); }

// Shared options: the length of a measurement step, and the XDP mode of the router.
CLI::Option* add_seconds_option(CLI::App* cmd, double& seconds, const char* help, double min, double max);
CLI::Option* add_xdp_mode_option(CLI::App* cmd, std::string& xdp_mode, const char* help);

// Prints the report or the error; the exit status.
int finish(const char* name, const Result<Report>& report, bool as_json);

// A registered subcommand: the CLI11 app to add its flags to, and the options they bind (they live as long as the
// app: the subcommand's callback holds them).
template <typename Options>
struct Subcommand {
    CLI::App* cmd;
    Options& options;
};

// Adds subcommand `name`. When it runs: --quick (offered when `quick_help` is given) calls the options' apply_quick(), the
// subcommand's own small settings, then `run` measures; the report goes to stdout, an error to stderr as
// "tempos-bench <name>: <why>", and the exit status to `exit_code` (0; 1 on error; 130 when interrupted).
template <typename Options>
Subcommand<Options> add_subcommand(CLI::App& app, const char* name, const char* about, const char* quick_help,
                                   int& exit_code, std::function<Result<Report>(const Options&)> run) {
    auto options = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(name, about);
    cmd->add_flag("--json", options->json, "Print one JSON object");
    if (quick_help) cmd->add_flag("--quick", options->quick, quick_help);
    cmd->callback([name, options, run, &exit_code] {
        if constexpr (requires { options->apply_quick(); }) {
            if (options->quick) options->apply_quick();
        }
        exit_code = finish(name, run(*options), options->json);
    });
    return {cmd, *options};
}

}  // namespace tempos::bench
