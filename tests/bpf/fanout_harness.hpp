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
// gso_segs > 1: the skb says it is a GSO aggregate of that many segments.
Result<TcRun> run_tc(int prog_fd, const Bytes& input, std::uint32_t ifindex = 0, std::uint32_t gso_segs = 0);

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
    // `marker_from`: the interface whose frames arrive on `interface` (a veth's peer), for take_until_marker.
    static Result<FrameCapture> open(const char* interface, const char* marker_from = nullptr);
    ~FrameCapture();
    FrameCapture(FrameCapture&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)), marker_fd_(std::exchange(other.marker_fd_, -1)),
          marker_ifindex_(other.marker_ifindex_), markers_(other.markers_) {}
    FrameCapture& operator=(FrameCapture&&) = delete;
    FrameCapture(const FrameCapture&) = delete;
    FrameCapture& operator=(const FrameCapture&) = delete;

    // IPv4 frames and IPv6 UDP frames only (the kernel's own ICMPv6/ARP chatter is skipped), until `count` arrived or `timeout`
    // passed; the frames are returned in arrival order.
    std::vector<Bytes> take(std::size_t count, std::chrono::milliseconds timeout);

    // Every such frame that arrived before a marker frame sent now out of `marker_from`, in arrival order: a veth
    // delivers what one CPU sends into it in order, so once the marker is in, everything sent before it is too (no
    // waiting for frames that may never come). An error when the marker does not arrive within `timeout` (a bound,
    // not a guess: it normally arrives at once) or the socket dropped frames.
    Result<std::vector<Bytes>> take_until_marker(std::chrono::milliseconds timeout = std::chrono::seconds(5));

private:
    explicit FrameCapture(int fd) : fd_(fd) {}
    int fd_ = -1;
    int marker_fd_ = -1;
    int marker_ifindex_ = 0;
    std::uint64_t markers_ = 0;
};

}  // namespace tempos::test
