#include "neighbour_resolver.hpp"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "network_interface.hpp"
#include "rtnetlink.hpp"
#include "tempos/system_status.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::xdp {

namespace {
// The kernel's NUD_VALID (include/net/neighbour.h, not exported to user space).
constexpr std::uint16_t kNudValid = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
}  // namespace

std::optional<Mac> usable_mac(const std::optional<NeighbourEntry>& entry) {
    if (!entry || !entry->lladdr || !(entry->state & kNudValid)) return std::nullopt;
    return entry->lladdr;
}

bool needs_resolution(const std::optional<NeighbourEntry>& entry) {
    if (!entry) return true;
    if (entry->state & (NUD_REACHABLE | NUD_PERMANENT | NUD_NOARP | NUD_INCOMPLETE | NUD_DELAY | NUD_PROBE))
        return false;
    return true;  // none, failed, stale
}

FollowedNeighbours::Update FollowedNeighbours::follow(const NextHop& hop, const std::optional<NeighbourEntry>& entry) {
    if (follows(hop)) return observe(hop, entry);
    hops_[hop] = usable_mac(entry);
    return Update{false, needs_resolution(entry)};
}

FollowedNeighbours::Update FollowedNeighbours::observe(const NextHop& hop,
                                                       const std::optional<NeighbourEntry>& entry) {
    const auto it = hops_.find(hop);
    if (it == hops_.end()) return {};
    const std::optional<Mac> mac = usable_mac(entry);
    const bool changed = it->second != mac;
    it->second = mac;
    return Update{changed, needs_resolution(entry)};
}

std::optional<Mac> FollowedNeighbours::mac(const NextHop& hop) const {
    const auto it = hops_.find(hop);
    return it == hops_.end() ? std::nullopt : it->second;
}

std::vector<NextHop> FollowedNeighbours::hops() const {
    std::vector<NextHop> out;
    for (const auto& [hop, mac] : hops_) out.push_back(hop);
    return out;
}

std::vector<NextHop> FollowedNeighbours::unresolved() const {
    std::vector<NextHop> out;
    for (const auto& [hop, mac] : hops_)
        if (!mac) out.push_back(hop);
    return out;
}

namespace {

// One neighbour message of family AF_INET or AF_INET6: its next hop and entry (std::nullopt for RTM_DELNEIGH).
struct NeighbourMessage {
    NextHop hop;
    std::optional<NeighbourEntry> entry;
};

int parse_neigh_attr(const nlattr* attr, void* data) {
    auto* parsed = static_cast<std::pair<std::optional<IpAddress>, std::optional<Mac>>*>(data);
    if (mnl_attr_get_type(attr) == NDA_DST) parsed->first = address_attribute(attr);
    if (mnl_attr_get_type(attr) == NDA_LLADDR && mnl_attr_get_payload_len(attr) == 6) {
        Mac mac;
        std::memcpy(mac.data(), mnl_attr_get_payload(attr), mac.size());
        parsed->second = mac;
    }
    return MNL_CB_OK;
}

std::optional<NeighbourMessage> parse_neigh(const nlmsghdr* msg) {
    if (msg->nlmsg_type != RTM_NEWNEIGH && msg->nlmsg_type != RTM_DELNEIGH) return std::nullopt;
    if (mnl_nlmsg_get_payload_len(msg) < sizeof(ndmsg)) return std::nullopt;
    const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(msg));
    if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6) return std::nullopt;
    std::pair<std::optional<IpAddress>, std::optional<Mac>> parsed;
    mnl_attr_parse(msg, sizeof(ndmsg), parse_neigh_attr, &parsed);
    if (!parsed.first || address_family(*parsed.first) != ndm->ndm_family) return std::nullopt;
    NeighbourMessage out{NextHop{ndm->ndm_ifindex, *parsed.first}, std::nullopt};
    if (msg->nlmsg_type == RTM_NEWNEIGH) out.entry = NeighbourEntry{ndm->ndm_state, parsed.second};
    return out;
}

int parse_neigh_answer(const nlmsghdr* msg, void* data) {
    if (std::optional<NeighbourMessage> parsed = parse_neigh(msg))
        *static_cast<std::optional<NeighbourEntry>*>(data) = parsed->entry;
    return MNL_CB_OK;
}

int ignore(const nlmsghdr*, void*) { return MNL_CB_OK; }

// The kernel's entry for `hop` (RTM_GETNEIGH); std::nullopt when it has none (ENOENT) or the query failed.
std::optional<NeighbourEntry> query_neighbour(const NextHop& hop) {
    RtnlRequest request(RTM_GETNEIGH, NLM_F_REQUEST);
    auto* ndm = request.extra<ndmsg>();
    ndm->ndm_family = address_family(hop.address);
    ndm->ndm_ifindex = hop.ifindex;
    put_address(request.header(), NDA_DST, hop.address);
    std::optional<NeighbourEntry> entry;
    if (!request.run("RTM_GETNEIGH", parse_neigh_answer, &entry)) return std::nullopt;
    return entry;
}

}  // namespace

Result<std::unique_ptr<NeighbourResolver>> NeighbourResolver::start(Changed on_change,
                                                                    std::shared_ptr<spdlog::logger> log,
                                                                    std::chrono::milliseconds recheck) {
    // Joined before any next hop is asked about, so no event after an answer is missed.
    UniqueFd events(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
    if (events.get() < 0) return system_status("netlink socket for neighbour events", errno);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_NEIGH;
    if (::bind(events.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0)
        return system_status("joining the neighbour events (RTNLGRP_NEIGH)", errno);
    UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (stop.get() < 0) return system_status("eventfd", errno);
    return std::unique_ptr<NeighbourResolver>(
        new NeighbourResolver(std::move(events), std::move(stop), std::move(on_change), std::move(log), recheck));
}

NeighbourResolver::NeighbourResolver(UniqueFd events, UniqueFd stop, Changed on_change,
                                     std::shared_ptr<spdlog::logger> log, std::chrono::milliseconds recheck)
    : events_(std::move(events)),
      stop_(std::move(stop)),
      on_change_(std::move(on_change)),
      log_(std::move(log)),
      recheck_(recheck) {
    thread_ = std::thread([this] { run(); });
}

NeighbourResolver::~NeighbourResolver() {
    const std::uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof(one));
    if (thread_.joinable()) thread_.join();
}

std::size_t NeighbourResolver::unresolved() const {
    std::lock_guard lock(mutex_);
    return followed_.unresolved().size();
}

std::optional<Mac> NeighbourResolver::mac_of(const IpAddress& member) {
    const Result<RouteNextHop> route = route_next_hop(member);
    if (!route) {
        std::lock_guard lock(mutex_);
        if (route_warned_.insert(member).second)
            log_->warn("subscriber {} has no MAC and {}; its events are served by the socket path", format_ip(member),
                       route.message());
        return std::nullopt;
    }
    const NextHop hop{route->ifindex, route->neighbour};
    {
        std::lock_guard lock(mutex_);
        route_warned_.erase(member);
        if (followed_.follows(hop)) return followed_.mac(hop);
    }
    const std::optional<NeighbourEntry> entry = query_neighbour(hop);
    FollowedNeighbours::Update update;
    std::optional<Mac> mac;
    {
        std::lock_guard lock(mutex_);
        update = followed_.follow(hop, entry);
        mac = followed_.mac(hop);
    }
    if (mac)
        log_->info("subscriber {}: neighbour {} is {}", format_ip(member), format_ip(hop.address), format_mac(*mac));
    else
        log_->info("subscriber {}: neighbour {} not resolved yet, resolving; its events take the socket path until "
                   "then",
                   format_ip(member), format_ip(hop.address));
    if (update.resolve) request_resolution(hop);
    return mac;
}

// RTM_NEWNEIGH with NTF_USE: the kernel creates the entry if needed and starts resolving (or re-verifying) it, as a
// send to the neighbour would (ARP, or a neighbour solicitation); no address is written, nothing becomes permanent.
void NeighbourResolver::request_resolution(const NextHop& hop) {
    RtnlRequest request(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
    auto* ndm = request.extra<ndmsg>();
    ndm->ndm_family = address_family(hop.address);
    ndm->ndm_ifindex = hop.ifindex;
    ndm->ndm_state = NUD_NONE;
    ndm->ndm_flags = NTF_USE;
    put_address(request.header(), NDA_DST, hop.address);
    requested_.fetch_add(1);
    if (Status st = request.run("asking the kernel to resolve " + format_ip(hop.address) + " (NTF_USE)", ignore,
                                nullptr);
        !st)
        log_->warn("{}", st.message());
}

void NeighbourResolver::log_change(const NextHop& hop, const std::optional<Mac>& mac) {
    if (mac)
        log_->info("neighbour {} is {}: routes rewritten", format_ip(hop.address), format_mac(*mac));
    else
        log_->warn("neighbour {} unresolved: its subscribers' events take the socket path (counted as unresolved)",
                   format_ip(hop.address));
}

bool NeighbourResolver::apply(const NextHop& hop, const std::optional<NeighbourEntry>& entry) {
    FollowedNeighbours::Update update;
    std::optional<Mac> mac;
    {
        std::lock_guard lock(mutex_);
        update = followed_.observe(hop, entry);
        mac = followed_.mac(hop);
    }
    if (update.mac_changed) log_change(hop, mac);
    if (update.resolve) request_resolution(hop);
    return update.mac_changed;
}

bool NeighbourResolver::requery(bool all) {
    std::vector<NextHop> hops;
    {
        std::lock_guard lock(mutex_);
        hops = all ? followed_.hops() : followed_.unresolved();
    }
    bool changed = false;
    for (const NextHop& hop : hops) changed |= apply(hop, query_neighbour(hop));
    return changed;
}

void NeighbourResolver::run() noexcept {
    try {
        pthread_setname_np(pthread_self(), "tempos-neigh");
        // CAP_NET_ADMIN asks the kernel to resolve (RTM_NEWNEIGH, NTF_USE); CAP_BPF lets the route rewrite a
        // neighbour change triggers publish a fresh inner map (bpf_map_create). Nothing else.
        constexpr std::uint64_t kKept = (std::uint64_t{1} << CAP_NET_ADMIN) | (std::uint64_t{1} << CAP_BPF);
        if (Status dropped = drop_thread_capabilities(kKept); !dropped)
            log_->error("the neighbour resolver kept all of its capabilities: {}", dropped.message());
        loop();
    } catch (const std::exception& e) {
        log_->error("neighbour resolver stopped: {}; neighbour changes are no longer followed", e.what());
    } catch (...) {
        log_->error("neighbour resolver stopped; neighbour changes are no longer followed");
    }
}

void NeighbourResolver::loop() {
    std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
    auto next_recheck = std::chrono::steady_clock::now() + recheck_;
    for (;;) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            next_recheck - std::chrono::steady_clock::now());
        pollfd fds[2] = {{events_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(std::max<std::int64_t>(wait.count(), 0))) < 0) {
            if (errno == EINTR) continue;
            log_->error("neighbour resolver stopped, poll(): {}; neighbour changes are no longer followed",
                        std::strerror(errno));
            return;
        }
        if (fds[1].revents) return;
        bool changed = false;
        for (;;) {
            const ssize_t received = ::recv(events_.get(), buffer.data(), buffer.size(), 0);
            if (received < 0 && errno == ENOBUFS) {  // events were lost: ask about every followed next hop
                changed |= requery(true);
                continue;
            }
            if (received <= 0) break;  // EAGAIN: everything read
            int remaining = static_cast<int>(received);
            for (auto* msg = reinterpret_cast<const nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(msg, remaining);
                 msg = mnl_nlmsg_next(msg, &remaining)) {
                if (const std::optional<NeighbourMessage> parsed = parse_neigh(msg))
                    changed |= apply(parsed->hop, parsed->entry);
            }
        }
        if (std::chrono::steady_clock::now() >= next_recheck) {
            changed |= requery(false);
            next_recheck = std::chrono::steady_clock::now() + recheck_;
        }
        if (changed) on_change_();
    }
}

}  // namespace tempos::xdp
