// Which frames are this MoM's (bpf/destination.h): the MACs of its interface and of that interface's VLAN
// sub-interfaces, and the IPv4 addresses it listens on — the `listen` address, or with listen 0.0.0.0 every
// address of those interfaces. LocalAddressWatcher keeps the router's local_destinations map equal to
// that set while addresses come and go (netlink RTMGRP_LINK and RTMGRP_IPV4_IFADDR, through libmnl).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/logger.h>

#include "destination_table.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"

struct mnl_socket;

namespace tempos::xdp {

// One netlink dump of links and IPv4 addresses. `listen` 0.0.0.0: the interfaces' addresses; otherwise exactly
// {listen} (the MoM's socket receives nothing else).
Result<LocalDestinations> query_local_destinations(int ifindex, const Ipv4& listen);

class LocalAddressWatcher {
public:
    // Fills `table` once (an error here fails the attach), then follows changes on a thread of its own.
    static Result<std::unique_ptr<LocalAddressWatcher>> start(int ifindex, const Ipv4& listen, DestinationTable table,
                                                              std::shared_ptr<spdlog::logger> log);
    ~LocalAddressWatcher();
    LocalAddressWatcher(const LocalAddressWatcher&) = delete;
    LocalAddressWatcher& operator=(const LocalAddressWatcher&) = delete;

    LocalDestinations current() const;
    // Times the maps were rewritten after the first fill because the set changed.
    std::uint64_t updates() const { return updates_.load(); }

private:
    LocalAddressWatcher(int ifindex, const Ipv4& listen, DestinationTable table, std::shared_ptr<spdlog::logger> log,
                        mnl_socket* events, UniqueFd wakeup);
    Status resync();
    void run() noexcept;

    int ifindex_;
    Ipv4 listen_;
    DestinationTable table_;
    std::shared_ptr<spdlog::logger> log_;
    mnl_socket* events_;
    UniqueFd wakeup_;  // eventfd: the destructor's stop signal
    mutable std::mutex mutex_;
    LocalDestinations current_;
    bool filled_ = false;  // under mutex_
    std::atomic<std::uint64_t> updates_{0};
    std::thread thread_;
};

}  // namespace tempos::xdp
