// What every tempos-bench subcommand shares: its report, the way it is registered and run, and interrupts.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "round_to.hpp"
#include "tempos/status_macros.hpp"

namespace tempos::bench {

using tools::round_to;

// A subcommand's figures: one flat JSON object, fields in the order added, which `tempos-bench all` merges over
// runs and bench/render_report.py turns into docs/benchmarks.md (the field names are the ones documented there).
class Report {
public:
    // A figure rounded to `decimals` places (an integer with 0), null when not finite.
    Report& number(const std::string& key, double value, int decimals) {
        if (!std::isfinite(value)) return raw(key, nullptr);
        return decimals == 0 ? raw(key, std::llround(value)) : raw(key, round_to(value, decimals));
    }
    Report& raw(const std::string& key, nlohmann::ordered_json value) {  // texts, curves (arrays of points)
        fields_[key] = std::move(value);
        return *this;
    }

    // The JSON object on one line, or one "field  value" line per field for a person.
    void print(bool as_json) const {
        constexpr auto kReplace = nlohmann::ordered_json::error_handler_t::replace;  // texts from child processes
        if (as_json) return (void)std::printf("%s\n", fields_.dump(-1, ' ', false, kReplace).c_str());
        for (const auto& [key, value] : fields_.items())
            std::printf("%-40s %s\n", key.c_str(),
                        value.is_string() ? value.get<std::string>().c_str()
                                          : value.dump(-1, ' ', false, kReplace).c_str());
    }

private:
    nlohmann::ordered_json fields_ = nlohmann::ordered_json::object();
};

// The options every subcommand has: --json, and --quick (a smoke run: the subcommand's own small settings).
struct CommonOptions {
    bool json = false;
    bool quick = false;
};

// SIGINT/SIGTERM: the handler only records the request; measuring loops stop at their next check and the
// subcommand returns normally, so destructors remove namespaces and stop tempos-mom or the brokers.
inline std::atomic<bool> g_interrupted{false};  // lock-free: safe in a signal handler
static_assert(std::atomic<bool>::is_always_lock_free);
inline bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }
inline void install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_interrupted.store(true); };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

// Why a measurement failed (an OS call, a program that did not behave): the bench's usual error.
inline Status measurement_error(std::string why) { return Status::error(ErrorCode::system_error, std::move(why)); }
inline Status os_error(const std::string& what, int err) { return measurement_error(what + ": " + std::strerror(err)); }

inline std::chrono::milliseconds milliseconds(double seconds) {
    return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

inline double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The options the measuring subcommands share, each added where Options has its member.
template <typename Options>
void add_shared_options(CLI::App* cmd, Options& o) {
    if constexpr (requires { o.seconds; })
        cmd->add_option("--seconds", o.seconds, "Length of each measurement step")->check(CLI::Range(0.05, 600.0));
    if constexpr (requires { o.rate; })
        cmd->add_option("--rate", o.rate, "Events per second of the measured (strict) stream")
            ->check(CLI::Range(1.0, 1e6));
    if constexpr (requires { o.xdp_mode; })
        cmd->add_option("--xdp-mode", o.xdp_mode, "XDP mode of the router: native or generic")
            ->check(CLI::IsMember({"native", "generic"}));
    if constexpr (requires { o.cpu; }) cmd->add_option("--cpu", o.cpu, "CPU the measuring thread runs on");
    if constexpr (requires { o.mom_cpu; })
        cmd->add_option("--mom-cpu", o.mom_cpu, "CPU of tempos-mom (and what runs beside it); -1: not pinned");
    if constexpr (requires { o.endpoint_priority; })
        cmd->add_option("--endpoint-priority", o.endpoint_priority,
                        "SCHED_FIFO priority of the measuring publisher and subscriber (they stand for other hosts; "
                        "0: normal scheduling)")
            ->check(CLI::Range(0, 99));
}

// Adds subcommand `name`, which measures with `run`: --json, --quick (a smoke run: calls Options::apply_quick()),
// the shared options Options has and its own (Options::add_options); tempos_bench.cpp gives the help texts.
// SIGINT/SIGTERM interrupt `run`; the report goes to stdout, an error to stderr as "tempos-bench <name>: <why>", and
// the exit status to `exit_code` (0; 1 on error; 130 when interrupted). The callback holds the options.
template <typename Options>
void add_bench(CLI::App& app, const char* name, int& exit_code, Result<Report> (*run)(const Options&)) {
    auto o = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(name);
    cmd->add_flag("--json", o->json, "Print one JSON object");
    cmd->add_flag("--quick", o->quick);
    add_shared_options(cmd, *o);
    if constexpr (requires { o->add_options(cmd); }) o->add_options(cmd);
    cmd->callback([name, o, run, &exit_code] {
        if (o->quick) o->apply_quick();
        install_interrupt_handler();
        const Result<Report> report = run(*o);
        if (report) report->print(o->json);
        else std::fprintf(stderr, "tempos-bench %s: %s\n", name, report.message().c_str());
        exit_code = report ? 0 : interrupted() ? 130 : 1;  // 130: as a shell reports a SIGINT
    });
}

// A subcommand's measurement as a class made from its options (add_bench<Measure>): run() measures.
template <typename O>
struct Bench {
    using Options = O;
    explicit Bench(const Options& o) : o_(o) {}
    const Options& o_;
};
template <typename Measure>
void add_bench(CLI::App& app, const char* name, int& exit_code) {
    add_bench(app, name, exit_code, +[](const typename Measure::Options& o) { return Measure(o).run(); });
}

}  // namespace tempos::bench
