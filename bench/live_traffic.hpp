// Live traffic (throughput, latency, fanout): a generator sending with BPF_PROG_TEST_RUN's live-frames mode, and a
// counter at the receiving veth.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "process/mom_runner.hpp"
#include "skeleton.hpp"
#include "tempos/status.hpp"
#include "tempos/unique_fd.hpp"
#include "topology/layouts.hpp"

struct live_generator;
struct sink_counter;

namespace tempos::bench {

struct GeneratorRun {
    std::uint64_t frames = 0;  // frames the kernel ran the program on, hence transmitted or dropped on the way
    double seconds = 0;
    double rate_pps() const { return seconds > 0 ? static_cast<double>(frames) / seconds : 0; }
};

// One step of offered load and what the counter saw of it.
struct LiveStep {
    GeneratorRun sent;            // every thread's frames, over the longest thread's time
    std::uint64_t delivered = 0;  // counted at sub1
    double delivered_per_s() const { return sent.seconds > 0 ? static_cast<double>(delivered) / sent.seconds : 0; }
    double loss() const {  // of the frames sent, one copy each
        return sent.frames > delivered ? static_cast<double>(sent.frames - delivered) / sent.frames : 0;
    }
};

// What the live benchmarks set up on the test kit's point-to-point topology: the generator (bench/
// live_generator.bpf.c) on pub:eth0 with the strict event it sends (pub to the MoM's port), and, when asked, the
// counter (bench/sink_counter.bpf.c: counts and drops the UDP datagrams to the MoM's port) on sub1:eth0.
class LiveRig {
public:
    static constexpr std::uint32_t kBatchSize = 64;  // frames per kernel batch (the kernel's default, max 256)
    enum class Hook { xdp, tc_ingress };             // where the counter is attached

    // The calling thread pinned to `cpu`, `net` built, then the generator, the frame of `topic` and the counter
    // (XDP in the mode the driver prefers, or tcx at ingress; a bpf_link owned by this process) at `counter_hook`.
    // The generator is held in the kernel's XDP dispatcher from a veth pair of its own in pub's namespace
    // (hold_in_dispatcher, test_run_timer.hpp).
    Status build(int cpu, const testkit::PointToPointOptions& layout, std::uint8_t topic,
                 std::optional<Hook> counter_hook);
    // The generator in the calling thread, entering pub's namespace for the run: `frame` out of pub:eth0 at
    // `rate_pps` (0: as fast as the kernel goes) for `seconds`, paced in chunks of about a millisecond of traffic.
    Result<GeneratorRun> send(double rate_pps, double seconds) const;
    // `threads` generator threads (the calling thread and others, pinned to first_cpu, first_cpu + 1, ... unless
    // first_cpu < 0) share `rate_pps` (0: each unpaced) for `seconds`. The count is taken once the counter has
    // `copies` per frame sent, or stopped moving for 100 ms (the queues drained; bounded at 3 s).
    Result<LiveStep> step(double rate_pps, double seconds, int threads = 1, int first_cpu = -1, int copies = 1) const;
    // A warm-up (not reported: it resolves neighbours, faults pages in, lets the MoM finish its set-up), the unpaced
    // step (the generator's limit), then `rates_m` (millions per second) in order while go_on(the sweep so far, the
    // rate in pps) holds; each step as step(rate, seconds, threads, first_cpu, copies). With `mom`: what reached its
    // socket.
    struct Sweep {
        std::vector<LiveStep> steps;  // the unpaced one first
        std::uint64_t mom_socket_datagrams = 0;
        const LiveStep& best() const { return *std::ranges::max_element(steps, {}, &LiveStep::delivered_per_s); }
    };
    using GoOn = std::function<bool(const Sweep& so_far, double rate_pps)>;
    Result<Sweep> sweep(double seconds, const std::vector<double>& rates_m, const GoOn& go_on,
                        const testkit::MomRunner* mom, int threads = 1, int first_cpu = -1, int copies = 1) const;

    testkit::Topology net;
    std::vector<std::uint8_t> frame;  // 64 bytes

private:
    std::uint64_t counted() const;  // over all CPUs; 0 if unreadable

    xdp::SkeletonPtr<live_generator> generator_{nullptr, nullptr};  // destroyed last
    xdp::SkeletonPtr<sink_counter> counter_{nullptr, nullptr};
    UniqueFd counter_link_;
    int pub_ifindex_ = 0;
};

}  // namespace tempos::bench
