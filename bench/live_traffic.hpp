// Live traffic for the throughput, latency and fan-out benchmarks: a generator that transmits frames with
// BPF_PROG_TEST_RUN in live-frames mode, and a counter at the receiving veth.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tempos/status.hpp"
#include "topology/topology.hpp"

struct live_generator;
struct sink_counter;

namespace tempos::bench {

struct GeneratorRun {
    std::uint64_t frames = 0;  // frames the kernel ran the program on, hence transmitted or dropped on the way
    double seconds = 0;
    double rate_pps() const { return seconds > 0 ? static_cast<double>(frames) / seconds : 0; }
};

class LiveGenerator {
public:
    static constexpr std::uint32_t kBatchSize = 64;  // frames per kernel batch (the kernel's default, max 256)

    LiveGenerator() = default;
    ~LiveGenerator();
    LiveGenerator(const LiveGenerator&) = delete;
    LiveGenerator& operator=(const LiveGenerator&) = delete;

    // Loads the program and holds it in the kernel's XDP dispatcher from a veth pair of its own in the calling
    // thread's netns (hold_in_dispatcher, test_run_timer.hpp).
    Status open();
    // Sends `frame` (64 bytes) out of `ifindex` (in the calling thread's netns) at `rate_pps` (0: as fast as
    // the kernel goes) for `seconds`. Paced in chunks of about a millisecond of traffic.
    Result<GeneratorRun> run(int ifindex, const std::vector<std::uint8_t>& frame, double rate_pps,
                             double seconds) const;

private:
    live_generator* skel_ = nullptr;
};

// bench/sink_counter.bpf.c: counts and drops the UDP datagrams to one port at a receiving interface.
class SinkCounter {
public:
    enum class Hook { xdp, tc_ingress };

    SinkCounter() = default;
    ~SinkCounter();
    SinkCounter(const SinkCounter&) = delete;
    SinkCounter& operator=(const SinkCounter&) = delete;

    // Loads the counter for UDP datagrams to `port` and attaches it with a bpf_link owned by this process (XDP
    // in the mode the driver prefers, or tcx at ingress) to `ifindex` in the calling thread's netns.
    Status attach(int ifindex, std::uint16_t port, Hook hook);
    std::uint64_t total() const;  // over all CPUs; 0 if unreadable

private:
    sink_counter* skel_ = nullptr;
    int link_fd_ = -1;
};

// One step of offered load and what the counter saw of it.
struct LiveStep {
    GeneratorRun sent;            // every thread's frames, over the longest thread's time
    std::uint64_t delivered = 0;  // counted at sub1
    double delivered_per_s() const { return sent.seconds > 0 ? static_cast<double>(delivered) / sent.seconds : 0; }
};

// What the live benchmarks set up on the test kit's point-to-point topology: the generator on pub:eth0 with
// the strict event it sends (pub to the MoM's port), and, when asked, the sink counter on sub1:eth0.
struct LiveRig {
    testkit::Topology net;
    LiveGenerator generator;
    SinkCounter counter;
    int pub_ifindex = 0;
    std::vector<std::uint8_t> frame;

    // After `net` is built: the generator, the frame of `topic`, the counter on `counter_hook`.
    Status open(std::uint8_t topic, std::optional<SinkCounter::Hook> counter_hook);
    // The generator in the calling thread, entering pub's namespace for the run.
    Result<GeneratorRun> send(double rate_pps, double seconds) const;
    // `threads` generator threads (the calling thread and others, pinned to first_cpu, first_cpu + 1, ... unless
    // first_cpu < 0) share `rate_pps` (0: each unpaced) for `seconds`. The count is taken once the counter has
    // `copies` per frame sent, or stopped moving for 100 ms (the queues drained; bounded at 3 s).
    Result<LiveStep> step(double rate_pps, double seconds, int threads = 1, int first_cpu = -1, int copies = 1) const;
};

}  // namespace tempos::bench
