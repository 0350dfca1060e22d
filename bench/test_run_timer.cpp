#include "test_run_timer.hpp"

#include <bpf/bpf.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace tempos::bench {

Result<TestRun> test_run(int prog_fd, const std::vector<std::uint8_t>& frame, std::uint32_t repeat,
                         std::span<const std::uint8_t> ctx) {
    std::vector<std::uint8_t> out(frame.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<std::uint32_t>(out.size());
    if (!ctx.empty()) {
        opts.ctx_in = ctx.data();
        opts.ctx_size_in = static_cast<std::uint32_t>(ctx.size());
    }
    opts.repeat = repeat;
    const auto start = std::chrono::steady_clock::now();
    const int err = bpf_prog_test_run_opts(prog_fd, &opts);
    const auto end = std::chrono::steady_clock::now();
    if (err != 0)
        return Status::error(ErrorCode::system_error, std::string("bpf_prog_test_run_opts: ") + std::strerror(errno));
    out.resize(opts.data_size_out);
    return TestRun{opts.retval, std::chrono::duration<double, std::nano>(end - start).count(), std::move(out)};
}

Result<double> time_per_run_ns(int prog_fd, const std::vector<std::uint8_t>& frame, const TimerSettings& settings,
                               std::span<const std::uint8_t> ctx) {
    if (settings.batch < 2) return Status::error(ErrorCode::invalid_argument, "batch must be at least 2");
    const std::uint64_t calls = (settings.iterations + settings.batch - 1) / settings.batch;
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        const Result<TestRun> batch = test_run(prog_fd, frame, settings.batch, ctx);
        if (!batch) return batch.status();
        const Result<TestRun> single = test_run(prog_fd, frame, 1, ctx);
        if (!single) return single.status();
        differences.push_back(batch->wall_ns - single->wall_ns);
    }
    return median(std::move(differences)) / (settings.batch - 1);
}

Result<double> single_run_cost_over_ns(int prog_fd, int baseline_fd, const std::vector<std::uint8_t>& frame,
                                       std::uint64_t calls) {
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        // Alternating which goes first cancels what the first call of a pair pays for the second.
        const bool prog_first = i % 2 == 0;
        const Result<TestRun> first = test_run(prog_first ? prog_fd : baseline_fd, frame, 1);
        if (!first) return first.status();
        const Result<TestRun> second = test_run(prog_first ? baseline_fd : prog_fd, frame, 1);
        if (!second) return second.status();
        const double p = prog_first ? first->wall_ns : second->wall_ns, b = prog_first ? second->wall_ns : first->wall_ns;
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
