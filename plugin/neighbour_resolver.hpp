// The MACs of subscribers configured without one, resolved and followed by the adapter itself, so the router
// needs no bpf_fib_lookup for them (which refuses while forwarding is off: no sysctl is needed). IPv4 (ARP) and
// IPv6 (NDP) alike. The kernel's route to a member gives the egress interface and the next hop (its gateway, or
// the member), the neighbour table that hop's MAC. When the entry is missing, failed or stale, the kernel is
// asked to resolve it (RTM_NEWNEIGH with NTF_USE: what a send to it would trigger, ARP or a neighbour
// solicitation); a thread follows the neighbour events (RTNLGRP_NEIGH) of every next hop asked about. rtnetlink
// through libmnl; NTF_USE needs CAP_NET_ADMIN.
//
// Frames the router sends bypass the neighbour layer and never confirm an entry, so a stale one is re-verified
// (the kernel's delay-probe cycle) instead of trusted for ever: a subscriber that changes its MAC is followed at
// once when it announces it (gratuitous ARP, unsolicited neighbour advertisement), else within the entry's
// reachable time and the probes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "network_interface.hpp"
#include "tempos/adapter.hpp"
#include "tempos/status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

// What the kernel's neighbour table holds for one next hop (an RTM_NEWNEIGH or an RTM_GETNEIGH answer). A next
// hop without an entry (RTM_DELNEIGH, ENOENT) is std::nullopt.
struct NeighbourEntry {
    std::uint16_t state = 0;  // NUD_*
    std::optional<Mac> lladdr;
    bool operator==(const NeighbourEntry&) const = default;
};

// The MAC frames may be sent to: the entry's address while its state is NUD_VALID (reachable, stale, delay,
// probe, permanent, noarp), as the kernel's own output path does.
std::optional<Mac> usable_mac(const std::optional<NeighbourEntry>& entry);

// Whether the kernel must be asked to resolve the next hop: no entry, none, failed, or stale (re-verified, see
// above). Not while a resolution runs (incomplete, delay, probe), nor for reachable, permanent or noarp entries.
bool needs_resolution(const std::optional<NeighbourEntry>& entry);

// Where frames toward a member go next: the route's output interface and gateway (or the member itself).
struct NextHop {
    int ifindex = 0;
    IpAddress address;
    auto operator<=>(const NextHop&) const = default;
};

// The resolver's bookkeeping without I/O: the usable MAC of every followed next hop, and what a new answer from
// the kernel means for it.
class FollowedNeighbours {
public:
    struct Update {
        bool mac_changed = false;  // learnt, changed or lost: the routes that use it must be rewritten
        bool resolve = false;      // ask the kernel to resolve it (needs_resolution)
    };

    // The first answer for `hop`: follows it from now on. mac_changed is false (nothing was written before).
    Update follow(const NextHop& hop, const std::optional<NeighbourEntry>& entry);
    // A later answer or event; ignored (all false) for a next hop that is not followed.
    Update observe(const NextHop& hop, const std::optional<NeighbourEntry>& entry);

    bool follows(const NextHop& hop) const { return hops_.contains(hop); }
    std::optional<Mac> mac(const NextHop& hop) const;
    std::vector<NextHop> hops() const;
    // Followed next hops without a usable MAC.
    std::vector<NextHop> unresolved() const;

private:
    std::map<NextHop, std::optional<Mac>> hops_;
};

class NeighbourResolver {
public:
    // Called on the resolver's thread, without its lock held, after the usable MAC of a followed next hop
    // changed (learnt, changed, failed or deleted): the adapter then rewrites the routes of the members behind it.
    using Changed = std::function<void()>;
    // How often the thread asks again about next hops that stay unresolved (the kernel ended its probes, or the
    // request itself failed). Tests shorten it.
    static constexpr std::chrono::milliseconds kDefaultRecheck{5000};

    // Errors: system_error (netlink, eventfd).
    static Result<std::unique_ptr<NeighbourResolver>> start(Changed on_change, std::shared_ptr<spdlog::logger> log,
                                                            std::chrono::milliseconds recheck = kDefaultRecheck);
    ~NeighbourResolver();  // stops the thread; on_change is not called afterwards
    NeighbourResolver(const NeighbourResolver&) = delete;
    NeighbourResolver& operator=(const NeighbourResolver&) = delete;

    // The MAC frames to `member` are sent to, if the kernel knows it now; the route is asked again at each call,
    // the next hop followed from then on. nullopt while unknown (no route, not resolved yet, failed): the kernel
    // is asked to resolve it and on_change reports the answer. Never blocks on the network.
    std::optional<Mac> mac_of(const IpAddress& member);

    // Resolution requests sent to the kernel (NTF_USE), and next hops followed without a usable MAC now.
    std::uint64_t resolutions_requested() const { return requested_.load(); }
    std::size_t unresolved() const;

private:
    NeighbourResolver(UniqueFd events, UniqueFd stop, Changed on_change, std::shared_ptr<spdlog::logger> log,
                      std::chrono::milliseconds recheck);
    void run() noexcept;
    void loop();
    // Applies one answer or event (under mutex_); true if a followed MAC changed. Asks the kernel when needed.
    bool apply(const NextHop& hop, const std::optional<NeighbourEntry>& entry);
    // Every followed next hop asked again (events were lost), or only the unresolved ones.
    bool requery(bool all);
    void request_resolution(const NextHop& hop);
    void log_change(const NextHop& hop, const std::optional<Mac>& mac);

    UniqueFd events_;  // netlink socket in RTNLGRP_NEIGH, non-blocking
    UniqueFd stop_;    // eventfd: the destructor's signal to the thread
    Changed on_change_;
    std::shared_ptr<spdlog::logger> log_;
    std::chrono::milliseconds recheck_;
    mutable std::mutex mutex_;
    FollowedNeighbours followed_;       // under mutex_
    std::set<IpAddress> route_warned_;  // members whose missing route was logged, under mutex_
    std::atomic<std::uint64_t> requested_{0};
    std::thread thread_;
};

}  // namespace tempos::xdp
