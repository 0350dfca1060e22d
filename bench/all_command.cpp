#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <set>

#include "process/process.hpp"
#include "subcommand.hpp"

namespace tempos::bench {

namespace {

// The fields issues 6, 12, 14, 16 and 17 fix, by the part that measures them: `all` fails when one of a part it ran
// is missing.
const std::map<std::string, std::vector<std::string>> kRequiredFields{
    {"prog", {"prog_ns", "prog_ns_v6", "thesis_ns", "prog_speedup"}},
    {"throughput", {"xdp_mpps", "xdp_loss", "socket_mpps", "baseline_mpps", "xdp_vs_socket"}},
    {"latency",
     {"lat_direct_p50_us", "lat_xdp_p50_us", "lat_xdp_p99_us", "lat_xdp_p50_us_v6", "lat_xdp_p99_us_v6",
      "lat_socket_p99_us", "lat_strict_idle_p99_us", "lat_strict_flood_p99_us", "lat_strict_on_flood_p99_us",
      "lat_strict_off_flood_p99_us", "lat_strict_socket_flood_p99_us", "lat_be_on_unaccounted"}},
    {"fanout", {"fanout_prog_ns_per_copy", "fanout4_kernel_mcps", "fanout4_socket_mcps"}},
    {"restart",
     {"restart_idle_gap_p99_us", "restart_term_persist_lost", "restart_term_persist_gap_ms",
      "restart_upgrade_persist_lost", "restart_upgrade_persist_gap_ms"}},
    {"cluster",
     {"cluster_prop_p50_ms", "cluster_prop_p99_ms", "cluster_prop_all_p99_ms", "cluster_churn_prop_p99_ms",
      "cluster_churn_prop_all_p99_ms", "cluster_resync_ms", "cluster_unaccounted"}},
    {"peers",
     {"mosquitto_p50_us", "mosquitto_p99_us", "nats_p50_us", "nats_p99_us", "nats_flood_p99_us", "dds_p99_us",
      "dds_flood_p99_us", "sockperf_p99_us", "sockperf_flood_p99_us"}}};

struct AllOptions : CommonOptions {
    int runs = 3;
    double timeout = 300;  // per child
    std::vector<std::string> only;
};

struct Part {
    std::string name;
    std::vector<nlohmann::ordered_json> runs;  // the successful ones
    std::vector<std::string> errors;
    double seconds = 0;  // wall time of all its runs
};

void run_part(Part& part, const AllOptions& o, int run) {
    std::vector<std::string> argv{"/proc/self/exe", part.name, "--json"};
    if (o.quick) argv.push_back("--quick");  // every measuring subcommand has it
    const std::string at = "run " + std::to_string(run) + ": ";
    if (interrupted()) return part.errors.push_back(at + "not run (interrupted)");
    const auto started = std::chrono::steady_clock::now();
    Result<testkit::Process> child = testkit::Process::start(argv);
    if (!child) return part.errors.push_back(at + child.message());
    // Bounded by --timeout; an interrupt of `all` is passed on, and the child gets 30 s to clean up.
    if (child->wait_until(interrupted, milliseconds(o.timeout), "an interrupt")) {
        (void)child->signal(SIGINT);
        (void)child->wait(std::chrono::seconds(30));
    }
    const int status = child->kill_and_reap();  // its exit status; killed if still running
    part.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    auto value = nlohmann::ordered_json::parse(child->output(), nullptr, false);
    if (status != 0 || !value.is_object()) {
        const std::string why = status != 0 ? "exit status " + std::to_string(status) : "not a JSON object";
        return part.errors.push_back(at + why + ": " + testkit::last_lines(child->errors(), 3));
    }
    std::fprintf(stderr, "tempos-bench all: %s run %d done\n", part.name.c_str(), run);
    part.runs.push_back(std::move(value));
}

// Numbers: median, _min, _max over the runs in which the field is a number; strings: the first run's.
void merge(const Part& part, Report& out, std::set<std::string>& fields) {
    if (part.runs.empty()) return;
    for (const auto& [key, first] : part.runs.front().items()) {
        if (!first.is_string() && !first.is_number()) continue;  // curves and such stay in "runs"
        fields.insert(key);
        if (first.is_string()) {
            out.raw(key, first);
            continue;
        }
        std::vector<double> values;
        for (const nlohmann::ordered_json& r : part.runs)
            if (auto v = r.find(key); v != r.end() && v->is_number()) values.push_back(v->get<double>());
        const auto [low, high] = std::ranges::minmax(values);
        out.number(key, median(values), 6).number(key + "_min", low, 6).number(key + "_max", high, 6);
    }
}

// Always a report (JSON): a part that failed is listed in it; the exit status says whether it is complete.
int run_all(CLI::App& parent, CLI::App& self, const AllOptions& o) {
    std::vector<Part> parts;
    for (CLI::App* sub : parent.get_subcommands([](CLI::App*) { return true; }))
        if (sub != &self && (o.only.empty() || std::ranges::find(o.only, sub->get_name()) != o.only.end()))
            parts.push_back({sub->get_name(), {}, {}, 0});
    install_interrupt_handler();
    // Interleaved (prog, throughput, ..., prog, ...) so that drifting load touches every part alike.
    for (int r = 1; r <= o.runs; ++r)
        for (Part& p : parts) run_part(p, o, r);

    Report out;
    std::set<std::string> fields;
    out.number("runs_per_figure", o.runs, 0);
    nlohmann::ordered_json errors = nlohmann::ordered_json::object(), raw = nlohmann::ordered_json::object(),
                           seconds = nlohmann::ordered_json::object(), missing = nlohmann::ordered_json::array();
    for (const Part& p : parts) {
        merge(p, out, fields);
        if (!p.errors.empty()) errors[p.name] = p.errors;
        raw[p.name] = p.runs;
        seconds[p.name] = round_to(p.seconds, 1);
        if (const auto required = kRequiredFields.find(p.name); required != kRequiredFields.end())
            for (const std::string& f : required->second)
                if (!fields.count(f)) missing.push_back(f);
    }
    const bool complete = errors.empty() && missing.empty();
    if (!complete)
        std::fprintf(stderr, "tempos-bench all: incomplete: errors %s, missing fields %s\n", errors.dump().c_str(),
                     missing.dump().c_str());
    out.raw("errors", std::move(errors))
        .raw("missing_fields", std::move(missing))
        .raw("part_seconds", std::move(seconds))
        .raw("runs", std::move(raw))
        .print(true);
    return complete ? 0 : 1;
}

}  // namespace

// Every other registered subcommand as a child process (--json), --runs times, interleaved, merged as bench/README.md
// says (`all`): medians with `<field>_min` and `<field>_max`, "runs", "errors" / "missing_fields" (exit status 1).
void register_all_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<AllOptions>();
    CLI::App* cmd = app.add_subcommand(
        "all", "Every other subcommand --runs times (child processes), merged: median, _min, _max per figure");
    cmd->add_flag("--json", o->json, "Print one JSON object (always JSON; accepted for symmetry)");
    cmd->add_flag("--quick", o->quick, "Pass --quick to the subcommands that have it (a smoke run, not a measurement)");
    cmd->add_option("--runs", o->runs, "Runs of each subcommand")->check(CLI::Range(1, 50));
    cmd->add_option("--timeout", o->timeout, "Seconds one subcommand run may take before it is killed");
    cmd->add_option("--only", o->only, "Only these subcommands (then only their fields are required)");
    cmd->callback([o, &exit_code, &app, cmd] { exit_code = run_all(app, *cmd, *o); });
}

}  // namespace tempos::bench
