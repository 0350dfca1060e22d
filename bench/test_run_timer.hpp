// Per-iteration cost of an XDP program under BPF_PROG_TEST_RUN.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tempos::bench {

struct TimerSettings {
    std::uint64_t iterations = 10'000'000;  // program runs per measurement (at least)
    std::uint32_t batch = 254;               // repetitions per syscall
};

// Why batches and not one call with repeat = 1e7: the kernel runs the repetitions on the same frame without
// restoring it, and our router rewrites it (TTL - 1 per run), so after at most 254 runs from TTL 255 the frame
// would leave the fast path and we would be timing the XDP_PASS path. So every syscall starts from a fresh
// copy and does `batch` (<= 254) runs. The kernel reports each call's mean only as whole nanoseconds (floored),
// too coarse at ~10 ns; instead each batch call is paired with a 1-repetition call of identical setup, and
// the per-run cost is median(batch-call time - single-call time) / (batch - 1): the syscall, copy and setup
// costs cancel, and the median discards pairs in which the thread was preempted (the machine may be busy).
// The same method is applied to every program compared.
// Returns ns per run, or a negative value with `error` set.
double time_per_run_ns(int prog_fd, const std::vector<std::uint8_t>& frame, const TimerSettings& settings,
                       std::string& error);

// A frame's cost on `prog_fd` for a single run, when repeated runs would not take the frame's path again (the
// router rewrites a routed frame towards a subscriber's port, which the next run passes up): `calls` pairs of
// one-repetition calls, one on prog_fd and one on `baseline_fd` (an empty program) with identical setup; the
// mean of the middle half of the differences is what prog_fd costs beyond the baseline. Returns ns (it may be
// negative by noise) with `error` empty, or sets `error`.
double single_run_cost_over_ns(int prog_fd, int baseline_fd, const std::vector<std::uint8_t>& frame,
                               std::uint64_t calls, std::string& error);

// Pins the calling thread to `cpu` (-1: the CPU it is on). Empty on success.
std::string pin_to_cpu(int cpu);

double median(std::vector<double> values);

}  // namespace tempos::bench
