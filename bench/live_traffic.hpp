// Live traffic for the throughput and isolation benchmarks: a generator that transmits frames with
// BPF_PROG_TEST_RUN in live-frames mode, and a counter at the receiving veth.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

    LiveGenerator();
    ~LiveGenerator();
    LiveGenerator(const LiveGenerator&) = delete;
    LiveGenerator& operator=(const LiveGenerator&) = delete;

    // Loads the program and, in the calling thread's netns, attaches it natively to a veth pair of its own that
    // carries no traffic: that keeps it in the kernel's XDP dispatcher, whose regeneration would otherwise cost
    // an RCU grace period on every test-run call (see dispatcher_hold.hpp). Empty on success.
    std::string open();
    // Sends `frame` (64 bytes) out of `ifindex` (in the calling thread's netns) at `rate_pps` (0: as fast as
    // the kernel goes) for `seconds`. Paced in chunks of about a millisecond of traffic.
    GeneratorRun run(int ifindex, const std::vector<std::uint8_t>& frame, double rate_pps, double seconds,
                     std::string& error);

private:
    live_generator* skel_ = nullptr;
    bpf_link* hold_link_ = nullptr;
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
    // in the mode the driver prefers, or tcx at ingress) to `ifindex` in the calling thread's netns. Empty on
    // success.
    std::string attach(int ifindex, std::uint16_t port, Hook hook);
    std::uint64_t total() const;  // over all CPUs; 0 if unreadable

private:
    sink_counter* skel_ = nullptr;
    int link_fd_ = -1;
};

// What the live benchmarks set up on the test kit's point-to-point topology: the generator on pub:eth0 with
// the strict event it sends (pub to the MoM's port), and, when asked, the sink counter on sub1:eth0.
struct LiveRig {
    testkit::Topology net;
    LiveGenerator generator;
    SinkCounter counter;
    int pub_ifindex = 0;
    std::vector<std::uint8_t> frame;

    // After `net` is built: the generator, the frame of `topic`, the counter on `counter_hook`. Empty on success.
    std::string open(std::uint8_t topic, std::optional<SinkCounter::Hook> counter_hook);
};

}  // namespace tempos::bench
