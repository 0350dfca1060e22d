// Per-run cost of a BPF program under BPF_PROG_TEST_RUN (the test kit's prog_test_run); the method and why it is
// so: bench/README.md, `prog`.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tempos/status.hpp"

namespace tempos::bench {

// median(time of a `batch`-run call - time of a 1-run call) / (batch - 1), over calls from a fresh copy of `frame`
// (the router rewrites it, TTL - 1 per run), until at least `iterations` runs; the same for every program compared
// (prog, and the fan-out program in fanout).
Result<double> time_per_run_ns(int prog_fd, const std::vector<std::uint8_t>& frame, std::uint64_t iterations,
                               std::uint32_t batch, std::span<const std::uint8_t> ctx = {});

// A frame's single-run cost on prog_fd beyond `baseline_fd` (an empty program), for frames whose path a repeated run
// would not take again: the interquartile mean over `calls` pairs of single-run calls (may be negative by noise).
Result<double> single_run_cost_over_ns(int prog_fd, int baseline_fd, const std::vector<std::uint8_t>& frame,
                                       std::uint64_t calls);

// Each program attached natively to a veth pair of its own ("<prefix><i>a") in the calling thread's namespace, so
// that it stays in the kernel's XDP dispatcher: otherwise every test run regenerates the dispatcher and waits for
// an RCU grace period.
Status hold_in_dispatcher(const std::vector<int>& prog_fds, const char* prefix);

}  // namespace tempos::bench
