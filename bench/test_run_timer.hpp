// Per-run cost of a BPF program under BPF_PROG_TEST_RUN (testkit::prog_test_run); method and why: README.md, `prog`.
#pragma once

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "frames/prog_test_run.hpp"
#include "subcommand.hpp"  // median
#include "topology/interface.hpp"
#include "topology/private_netns.hpp"

namespace tempos::bench {

// The per-run cost of bench/README.md (`prog`) over at least `iterations` runs, each call from a fresh copy of
// `frame`; the same for every program compared (prog, and the fan-out program in fanout).
inline Result<double> time_per_run_ns(int prog_fd, const std::vector<std::uint8_t>& frame, std::uint64_t iterations,
                                      std::uint32_t batch, std::span<const std::uint8_t> ctx = {}) {
    if (batch < 2) return Status::error(ErrorCode::invalid_argument, "batch must be at least 2");
    const std::uint64_t calls = (iterations + batch - 1) / batch;
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        TEMPOS_ASSIGN_OR_RETURN(auto batched, testkit::prog_test_run(prog_fd, frame, ctx, batch));
        TEMPOS_ASSIGN_OR_RETURN(auto single, testkit::prog_test_run(prog_fd, frame, ctx));
        differences.push_back(batched.wall_ns - single.wall_ns);
    }
    return median(std::move(differences)) / (batch - 1);
}

// A frame's single-run cost on prog_fd beyond `baseline_fd` (an empty program), for frames whose path a repeated run
// would not take again: the interquartile mean over `calls` pairs of single-run calls (may be negative by noise).
inline Result<double> single_run_cost_over_ns(int prog_fd, int baseline_fd, const std::vector<std::uint8_t>& frame,
                                              std::uint64_t calls) {
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        // Alternating which goes first cancels what the first call of a pair pays for the second.
        const bool prog_first = i % 2 == 0;
        TEMPOS_ASSIGN_OR_RETURN(auto first, testkit::prog_test_run(prog_first ? prog_fd : baseline_fd, frame));
        TEMPOS_ASSIGN_OR_RETURN(auto second, testkit::prog_test_run(prog_first ? baseline_fd : prog_fd, frame));
        differences.push_back((prog_first ? 1 : -1) * (first.wall_ns - second.wall_ns));
    }
    // The mean of the middle half: robust to preempted pairs like a median, but not stuck to the clock's
    // granularity (a single run is a few clock ticks).
    std::ranges::sort(differences);
    const auto middle = std::span(differences).subspan(calls / 4, calls - calls / 4 * 2);
    return std::accumulate(middle.begin(), middle.end(), 0.0) / static_cast<double>(middle.size());
}

// Each program attached natively to a veth pair of its own ("<prefix><i>a") in the calling thread's namespace, so
// that it stays in the kernel's XDP dispatcher (why: bench/README.md, `prog`).
inline Status hold_in_dispatcher(const std::vector<int>& prog_fds, const char* prefix) {
    for (std::size_t i = 0; i < prog_fds.size(); ++i) {
        const std::string a = prefix + std::to_string(i) + "a";
        if (Status st = testkit::add_veth_pair({.a = a, .b = prefix + std::to_string(i) + "b"}); !st)
            return st.prefixed("creating veth " + a);
        TEMPOS_ASSIGN_OR_RETURN(auto ifindex, testkit::ifindex_of(a));
        if (int err = bpf_xdp_attach(static_cast<int>(ifindex), prog_fds[i], XDP_FLAGS_DRV_MODE, nullptr); err != 0)
            return os_error("attaching to " + a + " (native)", -err);
    }
    return Status::ok();
}

}  // namespace tempos::bench
