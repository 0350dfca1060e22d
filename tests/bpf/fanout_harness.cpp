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

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "frames/router_fixtures.hpp"
#include "tcx.hpp"

namespace tempos::test {

Result<LoadedFanout> load_fanout(const MomConstants& mom) {
    auto skel = load_skeleton("tempos_fanout", tempos_fanout__open, tempos_fanout__load, tempos_fanout__destroy, mom,
                              +[](tempos_fanout& fanout, const MomConstants& constants) {
                                  xdp::set_mom_constants(fanout, constants.port, constants.ip);
                                  xdp::set_mom_ipv6(fanout, constants.ip6);
                              });
    if (!skel) return skel.status();
    const auto& maps = (*skel)->maps;
    // Alone (no router sharing its maps), the program takes frames for the synthetic world's MoM.
    if (Status local = testkit::install_local_destinations(bpf_map__fd(maps.local_destinations)); !local)
        return local;
    xdp::FanoutTable table(bpf_map__fd(maps.fanout_routes), bpf_map__fd(maps.fanout_group_counters),
                           bpf_map__fd(maps.fanout_topic_counters));
    return LoadedFanout{std::move(*skel), table};
}

Result<TcRun> run_tc(int prog_fd, const Bytes& input, std::uint32_t ifindex, std::uint32_t gso_segs) {
    __sk_buff ctx{};
    ctx.ifindex = ifindex;
    ctx.gso_segs = gso_segs;
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

namespace {

// The marker's ethertype: IEEE 802 local experimental, which no protocol of the stack takes.
constexpr std::uint16_t kMarkerEthertype = 0x88b5;

std::uint16_t ethertype_at(const Bytes& frame, std::size_t at) {
    return at + 1 < frame.size() ? static_cast<std::uint16_t>(frame[at] << 8 | frame[at + 1]) : 0;
}

// Whether a frame is one the program may have sent: IPv4, or IPv6 carrying UDP behind the extension headers the
// program skips (0, 43, 60), after up to two VLAN tags. The kernel's own IPv6 chatter on a link with IPv6 on
// (neighbour discovery, MLD behind a hop-by-hop header) is ICMPv6: skipped.
bool is_ip_event_frame(const Bytes& frame) {
    std::size_t off = 12;
    while ((ethertype_at(frame, off) == 0x8100 || ethertype_at(frame, off) == 0x88a8) && off < 20) off += 4;
    const std::uint16_t ethertype = ethertype_at(frame, off);
    if (ethertype == 0x0800) return true;
    if (ethertype != 0x86dd) return false;
    std::size_t header = off + 2 + 40;
    if (header > frame.size()) return false;
    std::uint8_t next = frame[off + 2 + 6];
    while ((next == 0 || next == 43 || next == 60) && header + 2 <= frame.size()) {
        next = frame[header];
        header += (frame[header + 1] + 1u) * 8;
    }
    return next == 17;
}

}  // namespace

Result<FrameCapture> FrameCapture::open(const char* interface, const char* marker_from) {
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
    // Room for a burst of 16 copies of the longest test frame, kept by the kernel until read.
    const int buffer = 4 << 20;
    if (::setsockopt(capture.fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof(buffer)) != 0)
        return Status::error(ErrorCode::system_error, std::string("SO_RCVBUFFORCE: ") + std::strerror(errno));
    if (marker_from != nullptr) {
        capture.marker_ifindex_ = static_cast<int>(if_nametoindex(marker_from));
        if (capture.marker_ifindex_ == 0)
            return Status::error(ErrorCode::not_found, std::string("no interface ") + marker_from);
        capture.marker_fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        if (capture.marker_fd_ < 0)
            return Status::error(ErrorCode::system_error, std::string("AF_PACKET socket: ") + std::strerror(errno));
    }
    // Frames that arrived before the traffic of the test are not ours.
    Bytes frame(2048);
    while (::recv(capture.fd_, frame.data(), frame.size(), MSG_DONTWAIT) > 0) {
    }
    return capture;
}

FrameCapture::~FrameCapture() {
    if (fd_ >= 0) ::close(fd_);
    if (marker_fd_ >= 0) ::close(marker_fd_);
}

Result<std::vector<Bytes>> FrameCapture::take_until_marker(std::chrono::milliseconds timeout) {
    if (marker_fd_ < 0) return Status::error(ErrorCode::invalid_argument, "the capture was opened without marker_from");
    // Broadcast, from a locally administered MAC, with a sequence number: this marker and no earlier one.
    const std::uint64_t sequence = ++markers_;
    Bytes marker(60, 0);
    std::fill(marker.begin(), marker.begin() + 6, 0xff);
    marker[6] = 0x02;
    marker[12] = kMarkerEthertype >> 8;
    marker[13] = kMarkerEthertype & 0xff;
    std::memcpy(&marker[14], &sequence, sizeof(sequence));
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = marker_ifindex_;
    to.sll_halen = 6;
    if (::sendto(marker_fd_, marker.data(), marker.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) !=
        static_cast<ssize_t>(marker.size()))
        return Status::error(ErrorCode::system_error, std::string("sending the capture's marker: ") + std::strerror(errno));

    std::vector<Bytes> frames;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            return Status::error(ErrorCode::internal, "the capture's marker did not arrive within " +
                                                         std::to_string(timeout.count()) + " ms");
        Bytes frame(4096);
        sockaddr_ll from{};
        socklen_t from_len = sizeof(from);
        const ssize_t n = ::recvfrom(fd_, frame.data(), frame.size(), MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
        frame.resize(static_cast<std::size_t>(n));
        if (ethertype_at(frame, 12) == kMarkerEthertype && frame.size() >= 22 &&
            std::memcmp(&frame[14], &sequence, sizeof(sequence)) == 0)
            break;
        if (is_ip_event_frame(frame)) frames.push_back(std::move(frame));
    }
    tpacket_stats stats{};
    socklen_t stats_len = sizeof(stats);
    if (::getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &stats_len) != 0)
        return Status::error(ErrorCode::system_error, std::string("PACKET_STATISTICS: ") + std::strerror(errno));
    if (stats.tp_drops != 0)
        return Status::error(ErrorCode::internal,
                             "the capture socket dropped " + std::to_string(stats.tp_drops) + " frames");
    return frames;
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
        if (!is_ip_event_frame(frame)) continue;
        frames.push_back(std::move(frame));
    }
    return frames;
}

}  // namespace tempos::test
