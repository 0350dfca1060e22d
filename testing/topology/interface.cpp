#include "topology/interface.hpp"

#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "tempos/status_macros.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::testkit {

namespace {

Status errno_status(const std::string& what, int err = errno) {
    return Status::error(err == ENODEV || err == ENOENT ? ErrorCode::not_found
                         : err == EPERM || err == EACCES ? ErrorCode::permission_denied
                                                         : ErrorCode::system_error,
                         what + ": " + std::strerror(err));
}

}  // namespace

const char* xdp_mode_name(XdpMode mode) {
    switch (mode) {
        case XdpMode::none: return "none";
        case XdpMode::native: return "native";
        case XdpMode::generic: return "generic";
        case XdpMode::offload: return "offload";
        case XdpMode::multiple: return "multiple";
    }
    return "unknown";
}

std::string mac_text(const Mac& mac) {
    char text[18];
    std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                  mac[5]);
    return text;
}

Result<std::uint32_t> ifindex_of(const std::string& ifname) {
    const unsigned index = ::if_nametoindex(ifname.c_str());
    if (index == 0) return errno_status("no interface " + ifname);
    return std::uint32_t{index};
}

Result<Mac> mac_of(const std::string& ifname) {
    ifreq request{};
    std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno_status("socket");
    const bool ok = ::ioctl(fd, SIOCGIFHWADDR, &request) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok) return errno_status("the MAC address of " + ifname, err);
    Mac mac{};
    std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
    return mac;
}

Result<XdpMode> xdp_mode_of(const std::string& ifname) {
    const Result<std::uint32_t> index = ifindex_of(ifname);
    if (!index) return index.status();
    LIBBPF_OPTS(bpf_xdp_query_opts, opts);
    if (const int err = bpf_xdp_query(static_cast<int>(*index), 0, &opts); err != 0)
        return errno_status("querying XDP on " + ifname, -err);
    switch (opts.attach_mode) {
        case XDP_ATTACHED_DRV: return XdpMode::native;
        case XDP_ATTACHED_SKB: return XdpMode::generic;
        case XDP_ATTACHED_HW: return XdpMode::offload;
        case XDP_ATTACHED_MULTI: return XdpMode::multiple;
        default: return XdpMode::none;
    }
}

Result<std::vector<InterfaceDrops>> interface_drops() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return errno_status("getifaddrs");
    std::vector<InterfaceDrops> drops;
    // One AF_PACKET entry per link, its ifa_data the link's counters.
    for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_PACKET || a->ifa_data == nullptr) continue;
        const auto* stats = static_cast<const rtnl_link_stats*>(a->ifa_data);
        drops.push_back({a->ifa_name, stats->rx_dropped, stats->tx_dropped});
    }
    ::freeifaddrs(list);
    return drops;
}

Result<FrameSender> FrameSender::open(const std::string& ifname) {
    const unsigned ifindex = if_nametoindex(ifname.c_str());
    if (ifindex == 0) return errno_status("no interface " + ifname);
    FrameSender sender;
    sender.ifname_ = ifname;
    sender.fd_ = UniqueFd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (sender.fd_.get() < 0) return errno_status("AF_PACKET socket");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(sender.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        return errno_status("binding the AF_PACKET socket to " + ifname);
    return sender;
}

Result<std::size_t> FrameSender::send_copies(const std::vector<std::uint8_t>& frame, std::size_t count) const {
    constexpr std::size_t kBatch = 64;
    iovec iov{const_cast<std::uint8_t*>(frame.data()), frame.size()};
    mmsghdr messages[kBatch]{};
    for (mmsghdr& m : messages) {
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    std::size_t done = 0, dropped = 0;
    while (done < count) {
        const std::size_t batch = std::min(kBatch, count - done);
        const int sent = ::sendmmsg(fd_.get(), messages, static_cast<unsigned>(batch), 0);
        if (sent > 0) {
            done += static_cast<std::size_t>(sent);
            // A short batch: the frame after the last one sent failed and the kernel dropped its error (man
            // sendmmsg). On an AF_PACKET socket that is the device's refusal (ENOBUFS): counted, not sent again.
            if (static_cast<std::size_t>(sent) < batch) {
                ++dropped;
                ++done;
            }
        } else if (errno == ENOBUFS) {  // the first frame of the batch was dropped by the device
            ++dropped;
            ++done;
        } else if (errno != EINTR) {
            return errno_status("sending on " + ifname_);
        }
    }
    return dropped;
}

Result<std::size_t> send_frames(const std::string& ifname, const std::vector<std::vector<std::uint8_t>>& frames,
                                std::chrono::milliseconds gap) {
    TEMPOS_ASSIGN_OR_RETURN(auto sender, FrameSender::open(ifname));
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const Result<std::size_t> lost = sender.send_copies(frames[i], 1);
        if (!lost) return lost.status().prefixed("frame " + std::to_string(i + 1) + " of " + std::to_string(frames.size()));
        dropped += *lost;
        if (gap.count() > 0) std::this_thread::sleep_for(gap);
    }
    return dropped;
}

}  // namespace tempos::testkit
