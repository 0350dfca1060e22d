#include "test_run_timer.hpp"

#include <bpf/bpf.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace tempos::bench {

namespace {
// One BPF_PROG_TEST_RUN call; returns its wall time in ns or -1.
double timed_call(int prog_fd, const std::vector<std::uint8_t>& frame, std::vector<std::uint8_t>& out,
                  std::uint32_t repeat) {
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<std::uint32_t>(out.size());
    opts.repeat = repeat;
    const auto start = std::chrono::steady_clock::now();
    const int err = bpf_prog_test_run_opts(prog_fd, &opts);
    const auto end = std::chrono::steady_clock::now();
    if (err != 0) return -1;
    return std::chrono::duration<double, std::nano>(end - start).count();
}
}  // namespace

double time_per_run_ns(int prog_fd, const std::vector<std::uint8_t>& frame, const TimerSettings& settings,
                       std::string& error) {
    if (settings.batch < 2) {
        error = "batch must be at least 2";
        return -1;
    }
    std::vector<std::uint8_t> out(frame.size() + 256);
    const std::uint64_t calls = (settings.iterations + settings.batch - 1) / settings.batch;
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        const double b = timed_call(prog_fd, frame, out, settings.batch);
        const double s = timed_call(prog_fd, frame, out, 1);
        if (b < 0 || s < 0) {
            error = std::string("bpf_prog_test_run_opts: ") + std::strerror(errno);
            return -1;
        }
        differences.push_back(b - s);
    }
    return median(std::move(differences)) / (settings.batch - 1);
}

double single_run_cost_over_ns(int prog_fd, int baseline_fd, const std::vector<std::uint8_t>& frame,
                               std::uint64_t calls, std::string& error) {
    std::vector<std::uint8_t> out(frame.size() + 256);
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        // Alternating which goes first cancels what the first call of a pair pays for the second.
        const bool prog_first = i % 2 == 0;
        const double first = timed_call(prog_first ? prog_fd : baseline_fd, frame, out, 1);
        const double second = timed_call(prog_first ? baseline_fd : prog_fd, frame, out, 1);
        const double p = prog_first ? first : second, b = prog_first ? second : first;
        if (p < 0 || b < 0) {
            error = std::string("bpf_prog_test_run_opts: ") + std::strerror(errno);
            return -1;
        }
        differences.push_back(p - b);
    }
    // The mean of the middle half: robust to preempted pairs like a median, but not stuck to the clock's
    // granularity (a single run is a few clock ticks).
    std::sort(differences.begin(), differences.end());
    const std::size_t quarter = differences.size() / 4;
    double sum = 0;
    for (std::size_t i = quarter; i < differences.size() - quarter; ++i) sum += differences[i];
    return sum / static_cast<double>(differences.size() - 2 * quarter);
}

std::string pin_to_cpu(int cpu) {
    if (cpu < 0) cpu = sched_getcpu();
    if (cpu < 0) return std::string("sched_getcpu: ") + std::strerror(errno);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        return "sched_setaffinity(" + std::to_string(cpu) + "): " + std::strerror(errno);
    return {};
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace tempos::bench
