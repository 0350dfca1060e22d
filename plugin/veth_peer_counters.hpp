// The transmit drops of veth peers, where the kernel counts the frames sent into a veth that its receive ring had no
// room for (none of the veth's own counters shows them). A peer in another namespace is asked by its nsid
// (RTM_GETLINK with IFLA_TARGET_NETNSID), which the kernel allows only with CAP_NET_ADMIN, and stats() is called
// from threads that keep no capability (the metrics endpoint): one thread of its own keeps CAP_NET_ADMIN alone and
// reads the counters when asked.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "device_xdp_info.hpp"
#include "tempos/status.hpp"

namespace tempos::xdp {

class VethPeerCounters {
public:
    // Started while the calling thread still holds CAP_NET_ADMIN (the adapter's connect()).
    static Result<std::unique_ptr<VethPeerCounters>> start(std::shared_ptr<spdlog::logger> log);
    ~VethPeerCounters();
    VethPeerCounters(const VethPeerCounters&) = delete;
    VethPeerCounters& operator=(const VethPeerCounters&) = delete;

    // The peer's drops of each veth (by its ifindex in this namespace), read now; an error for a veth whose peer
    // cannot be asked, or for all of them when the thread does not answer within a second.
    std::map<int, Result<PeerDrops>> read(const std::vector<int>& veths);

private:
    explicit VethPeerCounters(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}
    void run() noexcept;

    std::shared_ptr<spdlog::logger> log_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<int> asked_;
    std::map<int, Result<PeerDrops>> answer_;
    std::uint64_t requested_ = 0, answered_ = 0;
    bool stopping_ = false;
    std::mutex reader_;  // one read() at a time
    std::thread thread_;
};

}  // namespace tempos::xdp
