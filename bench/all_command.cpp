#include "all_command.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "interrupt.hpp"
#include "json_value.hpp"
#include "process/process.hpp"
#include "test_run_timer.hpp"

namespace tempos::bench {

namespace {

// The fields issue 6 fixes; `all` fails when one is missing.
const char* const kRequiredFields[] = {
    "prog_ns",           "thesis_ns",         "prog_speedup",          "xdp_mpps",
    "xdp_loss",          "socket_mpps",       "baseline_mpps",         "xdp_vs_socket",
    "lat_direct_p50_us", "lat_xdp_p50_us",    "lat_xdp_p99_us",        "lat_socket_p99_us",
    "lat_strict_idle_p99_us", "lat_strict_flood_p99_us", "mosquitto_p50_us", "mosquitto_p99_us",
    "nats_p50_us",       "nats_p99_us",       "nats_flood_p99_us", "fanout4_kernel_mcps",
    "fanout4_socket_mcps"};

struct AllOptions {
    bool json = false;
    bool quick = false;
    int runs = 3;
    double timeout = 300;  // per child
    std::vector<std::string> only;
};

struct Part {
    std::string name;
    bool has_quick = false;
    std::vector<JsonValue> runs;  // the successful ones
    std::vector<std::string> errors;
    double seconds = 0;  // wall time of all its runs
};

void run_part(Part& part, const AllOptions& o, int run) {
    std::vector<std::string> argv{"/proc/self/exe", part.name, "--json"};
    if (o.quick && part.has_quick) argv.push_back("--quick");
    const auto started = std::chrono::steady_clock::now();
    struct AddTime {
        Part& part;
        std::chrono::steady_clock::time_point since;
        ~AddTime() { part.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count(); }
    } add_time{part, started};
    Result<testkit::Process> launched = testkit::Process::start(argv);
    if (!launched) {
        part.errors.push_back("run " + std::to_string(run) + ": " + launched.message());
        return;
    }
    testkit::Process& child = *launched;
    // Bounded by --timeout; an interrupt of `all` is passed on, and the child gets 30 s to clean up.
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(o.timeout));
    bool passed_on = false;
    while (child.running() && std::chrono::steady_clock::now() < deadline) {
        if (interrupted() && !passed_on) {
            (void)child.signal(SIGINT);
            passed_on = true;
            deadline = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(30));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const int status = child.kill_and_reap();  // its exit status; killed if still running
    const std::string out = child.output();
    std::string error;
    std::optional<JsonValue> value = parse_json(out, error);
    if (status != 0 || !value || value->kind != JsonValue::Kind::object) {
        std::string why = status != 0 ? "exit status " + std::to_string(status) : "not a JSON object: " + error;
        part.errors.push_back("run " + std::to_string(run) + ": " + why + ": " +
                              testkit::last_lines(child.errors(), 3));
        return;
    }
    std::fprintf(stderr, "tempos-bench all: %s run %d done\n", part.name.c_str(), run);
    part.runs.push_back(std::move(*value));
}

// Numbers: median, _min, _max over the runs in which the field is a number; strings: the first run's.
void merge(const Part& part, JsonWriter& out, std::set<std::string>& fields) {
    if (part.runs.empty()) return;
    for (const auto& [key, first] : part.runs.front().object) {
        if (first.kind == JsonValue::Kind::string) {
            out.text(key, first.string);
            fields.insert(key);
            continue;
        }
        if (first.kind != JsonValue::Kind::number) continue;  // curves and such stay in "runs"
        std::vector<double> values;
        for (const JsonValue& r : part.runs)
            if (const JsonValue* v = r.find(key); v && v->kind == JsonValue::Kind::number) values.push_back(v->number);
        out.number(key, median(values), 6)
            .number(key + "_min", *std::min_element(values.begin(), values.end()), 6)
            .number(key + "_max", *std::max_element(values.begin(), values.end()), 6);
        fields.insert(key);
    }
}

int run_all(CLI::App& parent, CLI::App& self, const AllOptions& o) {
    std::vector<Part> parts;
    for (CLI::App* sub : parent.get_subcommands([](CLI::App*) { return true; })) {
        if (sub == &self) continue;
        if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), sub->get_name()) == o.only.end()) continue;
        parts.push_back({sub->get_name(), sub->get_option_no_throw("--quick") != nullptr, {}, {}});
    }
    install_interrupt_handler();
    // Interleaved (prog, throughput, ..., prog, ...) so that drifting load touches every part alike.
    for (int r = 1; r <= o.runs; ++r)
        for (Part& p : parts) {
            if (interrupted()) {
                p.errors.push_back("run " + std::to_string(r) + ": not run (interrupted)");
                continue;
            }
            run_part(p, o, r);
        }

    JsonWriter out;
    std::set<std::string> fields;
    out.number("runs_per_figure", o.runs, 0);
    std::string errors = "{", raw = "{";
    for (const Part& p : parts) {
        merge(p, out, fields);
        if (!p.errors.empty()) {
            std::string list = "[";
            for (const std::string& e : p.errors) list += (list.size() > 1 ? ", " : "") + json_quote(e);
            errors += (errors.size() > 1 ? ", " : "") + json_quote(p.name) + ": " + list + "]";
        }
        std::string runs = "[";
        for (const JsonValue& v : p.runs) runs += (runs.size() > 1 ? ", " : "") + v.dump();
        raw += (raw.size() > 1 ? ", " : "") + json_quote(p.name) + ": " + runs + "]";
    }
    std::string missing = "[";
    if (o.only.empty())
        for (const char* f : kRequiredFields)
            if (!fields.count(f)) missing += (missing.size() > 1 ? ", " : "") + json_quote(f);
    std::string seconds = "{";
    for (const Part& p : parts) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.1f", p.seconds);
        seconds += (seconds.size() > 1 ? ", " : "") + json_quote(p.name) + ": " + buf;
    }
    out.raw("errors", errors + "}")
        .raw("missing_fields", missing + "]")
        .raw("part_seconds", seconds + "}")
        .raw("runs", raw + "}");
    std::printf("%s\n", out.str().c_str());
    const bool ok = errors == "{" && missing == "[";
    if (!ok) std::fprintf(stderr, "tempos-bench all: incomplete: errors %s}, missing fields %s]\n", errors.c_str(),
                          missing.c_str());
    return ok ? 0 : 1;
}

}  // namespace

void register_all_command(CLI::App& app, const char* name, int& exit_code) {
    auto o = std::make_shared<AllOptions>();
    CLI::App* cmd = app.add_subcommand(
        name, "Every other subcommand --runs times (child processes), merged: median, _min, _max per figure");
    cmd->add_flag("--json", o->json, "Print one JSON object (always JSON; accepted for symmetry)");
    cmd->add_flag("--quick", o->quick, "Pass --quick to the subcommands that have it (a smoke run, not a measurement)");
    cmd->add_option("--runs", o->runs, "Runs of each subcommand")->check(CLI::Range(1, 50))->capture_default_str();
    cmd->add_option("--timeout", o->timeout, "Seconds one subcommand run may take before it is killed")
        ->capture_default_str();
    cmd->add_option("--only", o->only, "Only these subcommands (then no field is required)");
    cmd->callback([o, &exit_code, &app, cmd] { exit_code = run_all(app, *cmd, *o); });
}

}  // namespace tempos::bench
