#include "test_run_timer.hpp"

#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "frames/prog_test_run.hpp"
#include "subcommand.hpp"  // median
#include "topology/interface.hpp"
#include "topology/private_netns.hpp"

namespace tempos::bench {

using testkit::prog_test_run;
using testkit::ProgRun;

Result<double> time_per_run_ns(int prog_fd, const std::vector<std::uint8_t>& frame, std::uint64_t iterations,
                               std::uint32_t batch, std::span<const std::uint8_t> ctx) {
    if (batch < 2) return Status::error(ErrorCode::invalid_argument, "batch must be at least 2");
    const std::uint64_t calls = (iterations + batch - 1) / batch;
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        const Result<ProgRun> batched = prog_test_run(prog_fd, frame, ctx, batch);
        if (!batched) return batched.status();
        const Result<ProgRun> single = prog_test_run(prog_fd, frame, ctx);
        if (!single) return single.status();
        differences.push_back(batched->wall_ns - single->wall_ns);
    }
    return median(std::move(differences)) / (batch - 1);
}

Result<double> single_run_cost_over_ns(int prog_fd, int baseline_fd, const std::vector<std::uint8_t>& frame,
                                       std::uint64_t calls) {
    std::vector<double> differences;
    differences.reserve(calls);
    for (std::uint64_t i = 0; i < calls; ++i) {
        // Alternating which goes first cancels what the first call of a pair pays for the second.
        const bool prog_first = i % 2 == 0;
        const Result<ProgRun> first = prog_test_run(prog_first ? prog_fd : baseline_fd, frame);
        if (!first) return first.status();
        const Result<ProgRun> second = prog_test_run(prog_first ? baseline_fd : prog_fd, frame);
        if (!second) return second.status();
        const double p = prog_first ? first->wall_ns : second->wall_ns,
                     b = prog_first ? second->wall_ns : first->wall_ns;
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

Status hold_in_dispatcher(const std::vector<int>& prog_fds, const char* prefix) {
    for (std::size_t i = 0; i < prog_fds.size(); ++i) {
        const std::string a = prefix + std::to_string(i) + "a";
        if (Status st = testkit::add_veth_pair({.a = a, .b = prefix + std::to_string(i) + "b"}); !st)
            return st.prefixed("creating veth " + a);
        const Result<std::uint32_t> ifindex = testkit::ifindex_of(a);
        if (!ifindex) return ifindex.status();
        if (int err = bpf_xdp_attach(static_cast<int>(*ifindex), prog_fds[i], XDP_FLAGS_DRV_MODE, nullptr); err != 0)
            return Status::error(ErrorCode::system_error, "attaching to " + a + " (native): " + std::strerror(-err));
    }
    return Status::ok();
}

}  // namespace tempos::bench
