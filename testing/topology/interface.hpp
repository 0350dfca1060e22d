// What the kernel says about a network interface of the calling thread's namespace. Asked through sockets and
// netlink, not /sys: /sys/class/net shows the namespace sysfs was mounted in, which after setns() is not ours.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tempos/adapter.hpp"
#include "tempos/status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::testkit {

// How an XDP program is attached to an interface (bpf_xdp_query's attach mode).
enum class XdpMode : std::uint8_t { none, native, generic, offload, multiple };

// "none", "native", "generic", "offload", "multiple": the words tempos-mom's xdp_mode uses.
const char* xdp_mode_name(XdpMode mode);

// "02:00:00:00:00:0a"
std::string mac_text(const Mac& mac);

Result<std::uint32_t> ifindex_of(const std::string& ifname);
Result<Mac> mac_of(const std::string& ifname);
Result<XdpMode> xdp_mode_of(const std::string& ifname);

// Frames an interface dropped (the kernel's rx_dropped/tx_dropped counters).
struct InterfaceDrops {
    std::string ifname;
    std::uint64_t rx_dropped = 0;
    std::uint64_t tx_dropped = 0;
};
// Every interface of the namespace, with its counters.
Result<std::vector<InterfaceDrops>> interface_drops();

// An AF_PACKET socket bound to one interface of the namespace it was opened in, sending whole frames (Ethernet
// header on). Also the load generator where the kernel refuses live-frames test runs (bench/live_traffic.hpp); one
// socket may be shared by threads.
class FrameSender {
public:
    static Result<FrameSender> open(const std::string& ifname);
    // `count` copies of `frame`, in sendmmsg batches: how many of them the device dropped (ENOBUFS, as below), or
    // the error that stopped the sending.
    Result<std::size_t> send_copies(const std::vector<std::uint8_t>& frame, std::size_t count) const;

private:
    UniqueFd fd_;
    std::string ifname_;
};

// Sends each frame (Ethernet header on) out of `ifname` from an AF_PACKET socket, `gap` apart. How many of them the
// device dropped as they were sent (ENOBUFS: the driver said NET_XMIT_DROP; a veth does when its peer cannot take the
// frame), or the error that stopped the sending.
Result<std::size_t> send_frames(const std::string& ifname, const std::vector<std::vector<std::uint8_t>>& frames,
                   std::chrono::milliseconds gap = std::chrono::milliseconds(0));

}  // namespace tempos::testkit
