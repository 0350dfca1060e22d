// The MACs of subscribers configured without one, resolved and followed by the adapter itself: the kernel's route
// to the member gives the egress interface and the next hop (its gateway, or the member), the neighbour table
// its MAC; when the entry is missing or failed the kernel is asked to resolve it (RTM_NEWNEIGH with NTF_USE, what
// a send would trigger), and a thread follows the neighbour events (RTNLGRP_NEIGH) of every next hop asked
// about. No sysctl is needed: bpf_fib_lookup, which refuses without IPv4 forwarding, stays the router's fallback.
// rtnetlink through libmnl; CAP_NET_ADMIN for NTF_USE.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/logger.h>

#include "tempos/adapter.hpp"
#include "tempos/status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

class NeighbourResolver {
public:
    // Called on the resolver's thread, without its lock held, after the MAC of a next hop asked about changed
    // (learnt, changed, failed or deleted). The adapter then re-translates the topics that use it.
    using Changed = std::function<void()>;

    // Errors: system_error (netlink sockets).
    static Result<std::unique_ptr<NeighbourResolver>> start(Changed on_change, std::shared_ptr<spdlog::logger> log);
    ~NeighbourResolver();  // stops the thread
    NeighbourResolver(const NeighbourResolver&) = delete;
    NeighbourResolver& operator=(const NeighbourResolver&) = delete;

    // The MAC frames to `member` are sent to, if the kernel knows it now (a valid neighbour entry). Followed from
    // then on; when unknown, the kernel is asked to resolve it and `on_change` reports the answer.
    std::optional<Mac> mac_of(const Ipv4& member);

private:
    struct NextHop {
        int ifindex = 0;
        Ipv4 address{};  // the gateway, or the member itself
        bool operator<(const NextHop& o) const {
            return ifindex != o.ifindex ? ifindex < o.ifindex : address < o.address;
        }
    };

    NeighbourResolver(UniqueFd events, UniqueFd stop, Changed on_change, std::shared_ptr<spdlog::logger> log);
    void run();
    // Applies one neighbour event; true if a followed next hop's MAC changed.
    bool apply(int ifindex, const Ipv4& address, std::optional<Mac> mac);
    void request_resolution(const NextHop& hop);

    UniqueFd events_;  // netlink socket in RTNLGRP_NEIGH
    UniqueFd stop_;    // eventfd: the destructor's signal to the thread
    Changed on_change_;
    std::shared_ptr<spdlog::logger> log_;
    std::mutex mutex_;
    std::map<NextHop, std::optional<Mac>> followed_;  // what the last answer or event said
    std::map<Ipv4, NextHop> next_hop_of_;             // member -> next hop, from the route asked at mac_of()
    std::thread thread_;
};

}  // namespace tempos::xdp
