// Which frames are this MoM's (bpf/destination.h): the MACs of its interface and of that interface's VLAN
// sub-interfaces, and the addresses it listens on — the `listen` address, or with listen 0.0.0.0 (IPv4) / [::]
// (IPv6, and IPv4 when dual-stack) every address of those interfaces; IPv6 link-local addresses excepted (a
// rewritten event's source is the address it was sent to, and fe80:: is not valid beyond the link: the socket path
// serves those). LocalAddressWatcher keeps the router's local_destinations map equal to that set while addresses
// come and go (netlink RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR, through libmnl).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/logger.h>

#include "destination_table.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"

struct mnl_socket;

namespace tempos::xdp {

// The addresses the MoM's sockets receive on, per family: absent, none; 0.0.0.0 / ::, every address of the
// interfaces; otherwise exactly that one.
struct ListenAddresses {
    std::optional<Ipv4> ipv4;
    std::optional<Ipv6> ipv6;
    bool operator==(const ListenAddresses&) const = default;
};
ListenAddresses listen_addresses(const ChannelConfig& channel);

// One netlink dump of links and addresses, as ListenAddresses says.
Result<LocalDestinations> query_local_destinations(int ifindex, const ListenAddresses& listen);

class LocalAddressWatcher {
public:
    // Fills `table` once (an error here fails the attach), then follows changes on a thread of its own.
    static Result<std::unique_ptr<LocalAddressWatcher>> start(int ifindex, const ListenAddresses& listen,
                                                              DestinationTable table,
                                                              std::shared_ptr<spdlog::logger> log);
    ~LocalAddressWatcher();
    LocalAddressWatcher(const LocalAddressWatcher&) = delete;
    LocalAddressWatcher& operator=(const LocalAddressWatcher&) = delete;

    LocalDestinations current() const;
    // Times the maps were rewritten after the first fill because the set changed.
    std::uint64_t updates() const { return updates_.load(); }

private:
    LocalAddressWatcher(int ifindex, const ListenAddresses& listen, DestinationTable table, std::shared_ptr<spdlog::logger> log,
                        mnl_socket* events, UniqueFd wakeup);
    Status resync();
    void run() noexcept;

    int ifindex_;
    ListenAddresses listen_;
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
