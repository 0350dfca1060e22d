// Per-run cost of a BPF program under BPF_PROG_TEST_RUN (the test kit's prog_test_run, frames/prog_test_run.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tempos/status.hpp"

namespace tempos::bench {

// Why batches and not one call with repeat = 1e7: the kernel runs the repetitions on the same frame without
// restoring it, and our router rewrites it (TTL - 1 per run), so after at most 254 runs from TTL 255 the frame
// would leave the fast path and we would be timing the XDP_PASS path. So every syscall starts from a fresh
// copy and does `batch` (<= 254) runs. The kernel reports each call's mean only as whole nanoseconds (floored),
// too coarse at ~10 ns; instead each batch call is paired with a 1-repetition call of identical setup, and
// the per-run cost is median(batch-call time - single-call time) / (batch - 1): the syscall, copy and setup
// costs cancel, and the median discards pairs in which the thread was preempted (the machine may be busy).
// The same method is applied to every program compared (prog, and the fan-out program in fanout).
// At least `iterations` program runs in all, `batch` per syscall.
Result<double> time_per_run_ns(int prog_fd, const std::vector<std::uint8_t>& frame, std::uint64_t iterations,
                               std::uint32_t batch, std::span<const std::uint8_t> ctx = {});

// A frame's cost on `prog_fd` for a single run, when repeated runs would not take the frame's path again (the
// router rewrites a routed frame towards a subscriber's port, which the next run passes up): `calls` pairs of
// one-repetition calls, one on prog_fd and one on `baseline_fd` (an empty program) with identical setup; the
// mean of the middle half of the differences is what prog_fd costs beyond the baseline, in ns (it may be
// negative by noise).
Result<double> single_run_cost_over_ns(int prog_fd, int baseline_fd, const std::vector<std::uint8_t>& frame,
                                       std::uint64_t calls);

// Why the programs are held: every test run of an XDP program that is attached nowhere adds it to the kernel's
// XDP dispatcher and removes it afterwards; each change regenerates the dispatcher and waits for an RCU grace
// period (milliseconds). A program attached in native mode somewhere stays in the dispatcher, and test runs then
// cost microseconds. So each program is attached to a veth pair of its own ("<prefix><i>a"), created in the
// calling thread's namespace (one that goes with the run: traffic never flows there).
Status hold_in_dispatcher(const std::vector<int>& prog_fds, const char* prefix);

}  // namespace tempos::bench
