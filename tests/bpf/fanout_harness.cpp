#include "fanout_harness.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "frames/router_fixtures.hpp"
#include "tcx.hpp"

namespace tempos::test {

Result<LoadedFanout> load_fanout(const MomConstants& mom) {
    auto skel = load_skeleton("tempos_fanout", tempos_fanout__open, tempos_fanout__load, tempos_fanout__destroy, mom);
    if (!skel) return skel.status();
    const auto& maps = (*skel)->maps;
    // Alone (no router sharing its maps), the program takes frames for the synthetic world's MoM.
    if (Status local = testkit::install_local_destinations(bpf_map__fd(maps.local_destinations)); !local)
        return local;
    xdp::FanoutTable table(bpf_map__fd(maps.fanout_routes), bpf_map__fd(maps.fanout_group_counters),
                           bpf_map__fd(maps.fanout_topic_counters));
    return LoadedFanout{std::move(*skel), table};
}

Result<TcRun> run_tc(int prog_fd, const Bytes& input, std::uint32_t ifindex) {
    __sk_buff ctx{};
    ctx.ifindex = ifindex;
    return testkit::prog_test_run(prog_fd, input, testkit::context_bytes(ctx));
}

std::string tc_action_name(int action) {
    switch (action) {
        case xdp::kTcxNext: return "TCX_NEXT";
        case TC_ACT_OK: return "TC_ACT_OK (TCX_PASS)";
        case TC_ACT_SHOT: return "TC_ACT_SHOT";
        case TC_ACT_REDIRECT: return "TC_ACT_REDIRECT";
        default: return "action " + std::to_string(action);
    }
}

Result<FrameCapture> FrameCapture::open(const char* interface) {
    const unsigned ifindex = if_nametoindex(interface);
    if (ifindex == 0) return Status::error(ErrorCode::not_found, std::string("no interface ") + interface);
    FrameCapture capture(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    if (capture.fd_ < 0)
        return Status::error(ErrorCode::system_error, std::string("AF_PACKET socket: ") + std::strerror(errno));
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(capture.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        return Status::error(ErrorCode::system_error,
                             std::string("binding the capture to ") + interface + ": " + std::strerror(errno));
    // Frames that arrived before the traffic of the test are not ours.
    Bytes frame(2048);
    while (::recv(capture.fd_, frame.data(), frame.size(), MSG_DONTWAIT) > 0) {
    }
    return capture;
}

FrameCapture::~FrameCapture() {
    if (fd_ >= 0) ::close(fd_);
}

std::vector<Bytes> FrameCapture::take(std::size_t count, std::chrono::milliseconds timeout) {
    std::vector<Bytes> frames;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fd_ >= 0 && frames.size() < count) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        Bytes frame(2048);
        sockaddr_ll from{};
        socklen_t from_len = sizeof(from);
        const ssize_t n = ::recvfrom(fd_, frame.data(), frame.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n <= 0) continue;
        if (from.sll_pkttype == PACKET_OUTGOING) continue;
        frame.resize(static_cast<std::size_t>(n));
        // The ethertype after up to two VLAN tags decides: only IPv4 is ours.
        std::size_t off = 12;
        auto type_at = [&](std::size_t at) { return at + 1 < frame.size() ? (frame[at] << 8 | frame[at + 1]) : 0; };
        while ((type_at(off) == 0x8100 || type_at(off) == 0x88a8) && off < 20) off += 4;
        if (type_at(off) != 0x0800) continue;
        frames.push_back(std::move(frame));
    }
    return frames;
}

}  // namespace tempos::test
