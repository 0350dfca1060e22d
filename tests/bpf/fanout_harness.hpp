// Loads the TC fan-out skeleton for a test, runs frames through it with BPF_PROG_TEST_RUN, and captures the
// clones it sends (they really leave through the interface given as the skb's ifindex).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fanout_table.hpp"
#include "prog_test_run.hpp"
#include "tempos_fanout.skel.h"

namespace tempos::test {

// output: the original after the program (it is dropped when action is TC_ACT_SHOT).
using TcRun = ProgRun;

// The frame enters as if received on `ifindex` (0: loopback); clones go out of the interfaces they name.
Result<TcRun> run_tc(int prog_fd, const Bytes& input, std::uint32_t ifindex = 0);

std::string tc_action_name(int action);

struct LoadedFanout {
    xdp::SkeletonPtr<tempos_fanout> skel;
    xdp::FanoutTable table;

    int prog_fd() const { return bpf_program__fd(skel->progs.tempos_fanout); }
    int routes_fd() const { return bpf_map__fd(skel->maps.fanout_routes); }
};
Result<LoadedFanout> load_fanout(const MomConstants& mom = {});

// Every frame an interface receives, from an AF_PACKET socket opened before the traffic.
class FrameCapture {
public:
    static Result<FrameCapture> open(const char* interface);
    ~FrameCapture();
    FrameCapture(FrameCapture&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    FrameCapture& operator=(FrameCapture&&) = delete;
    FrameCapture(const FrameCapture&) = delete;
    FrameCapture& operator=(const FrameCapture&) = delete;

    // IPv4 frames only (the kernel's own IPv6/ARP chatter is skipped), until `count` arrived or `timeout`
    // passed; the frames are returned in arrival order.
    std::vector<Bytes> take(std::size_t count, std::chrono::milliseconds timeout);

private:
    explicit FrameCapture(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace tempos::test
