#include "neighbour_resolver.hpp"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "network_interface.hpp"
#include "rtnetlink.hpp"
#include "tempos/system_status.hpp"

namespace tempos::xdp {

namespace {

// One neighbour message: its interface, address and, when its state is valid, its MAC.
struct NeighbourFacts {
    bool seen = false;
    bool deleted = false;
    int ifindex = 0;
    std::optional<Ipv4> address;
    std::optional<Mac> lladdr;
    std::uint16_t state = 0;

    std::optional<Mac> mac() const {
        if (deleted || !lladdr || !(state & NUD_VALID)) return std::nullopt;
        return lladdr;
    }
};

int parse_neigh_attr(const nlattr* attr, void* data) {
    auto* facts = static_cast<NeighbourFacts*>(data);
    if (mnl_attr_get_type(attr) == NDA_DST && mnl_attr_get_payload_len(attr) == 4) {
        Ipv4 address;
        std::memcpy(address.data(), mnl_attr_get_payload(attr), address.size());
        facts->address = address;
    }
    if (mnl_attr_get_type(attr) == NDA_LLADDR && mnl_attr_get_payload_len(attr) == 6) {
        Mac mac;
        std::memcpy(mac.data(), mnl_attr_get_payload(attr), mac.size());
        facts->lladdr = mac;
    }
    return MNL_CB_OK;
}

// Fills NeighbourFacts from an RTM_NEWNEIGH/RTM_DELNEIGH of family AF_INET.
bool parse_neigh(const nlmsghdr* msg, NeighbourFacts& facts) {
    if (msg->nlmsg_type != RTM_NEWNEIGH && msg->nlmsg_type != RTM_DELNEIGH) return false;
    const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(msg));
    if (ndm->ndm_family != AF_INET) return false;
    facts = NeighbourFacts{};
    facts.seen = true;
    facts.deleted = msg->nlmsg_type == RTM_DELNEIGH;
    facts.ifindex = ndm->ndm_ifindex;
    facts.state = ndm->ndm_state;
    mnl_attr_parse(msg, sizeof(ndmsg), parse_neigh_attr, &facts);
    return facts.address.has_value();
}

int parse_neigh_answer(const nlmsghdr* msg, void* data) {
    parse_neigh(msg, *static_cast<NeighbourFacts*>(data));
    return MNL_CB_OK;
}

int ignore(const nlmsghdr*, void*) { return MNL_CB_OK; }

// The kernel's entry for (ifindex, address); nullopt when it has none (ENOENT) or the query failed.
std::optional<NeighbourFacts> query_neighbour(int ifindex, const Ipv4& address) {
    RtnlRequest request(RTM_GETNEIGH, NLM_F_REQUEST);
    auto* ndm = request.extra<ndmsg>();
    ndm->ndm_family = AF_INET;
    ndm->ndm_ifindex = ifindex;
    mnl_attr_put(request.header(), NDA_DST, address.size(), address.data());
    NeighbourFacts facts;
    if (!request.run("RTM_GETNEIGH", parse_neigh_answer, &facts) || !facts.seen) return std::nullopt;
    return facts;
}

}  // namespace

Result<std::unique_ptr<NeighbourResolver>> NeighbourResolver::start(Changed on_change,
                                                                    std::shared_ptr<spdlog::logger> log) {
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
        new NeighbourResolver(std::move(events), std::move(stop), std::move(on_change), std::move(log)));
}

NeighbourResolver::NeighbourResolver(UniqueFd events, UniqueFd stop, Changed on_change,
                                     std::shared_ptr<spdlog::logger> log)
    : events_(std::move(events)), stop_(std::move(stop)), on_change_(std::move(on_change)), log_(std::move(log)) {
    thread_ = std::thread([this] { run(); });
}

NeighbourResolver::~NeighbourResolver() {
    const std::uint64_t one = 1;
    if (::write(stop_.get(), &one, sizeof(one)) < 0) log_->warn("stopping the neighbour resolver: {}", std::strerror(errno));
    if (thread_.joinable()) thread_.join();
}

std::optional<Mac> NeighbourResolver::mac_of(const Ipv4& member) {
    std::lock_guard lock(mutex_);
    if (const auto known = next_hop_of_.find(member); known != next_hop_of_.end()) return followed_[known->second];
    const Result<RouteNextHop> route = route_next_hop(member);
    if (!route) {
        log_->warn("subscriber {}: {}; its events are served by the socket path", format_ip(member), route.message());
        return std::nullopt;
    }
    const NextHop hop{route->ifindex, route->neighbour};
    next_hop_of_[member] = hop;
    if (const auto it = followed_.find(hop); it != followed_.end()) return it->second;
    const std::optional<NeighbourFacts> entry = query_neighbour(hop.ifindex, hop.address);
    const std::optional<Mac> mac = entry ? entry->mac() : std::nullopt;
    followed_[hop] = mac;
    if (!mac) {
        log_->info("subscriber {}: neighbour {} not resolved yet; resolving (its events take the socket path until "
                   "then)",
                   format_ip(member), format_ip(hop.address));
        request_resolution(hop);
    }
    return mac;
}

// RTM_NEWNEIGH with NTF_USE: the kernel creates the entry if needed and starts resolving it, as a send to the
// neighbour would (ARP); no address is written, nothing becomes permanent.
void NeighbourResolver::request_resolution(const NextHop& hop) {
    RtnlRequest request(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
    auto* ndm = request.extra<ndmsg>();
    ndm->ndm_family = AF_INET;
    ndm->ndm_ifindex = hop.ifindex;
    ndm->ndm_flags = NTF_USE;
    mnl_attr_put(request.header(), NDA_DST, hop.address.size(), hop.address.data());
    if (Status st = request.run("asking the kernel to resolve " + format_ip(hop.address) + " (NTF_USE)", ignore, nullptr);
        !st)
        log_->warn("{}", st.message());
}

bool NeighbourResolver::apply(int ifindex, const Ipv4& address, std::optional<Mac> mac) {
    std::lock_guard lock(mutex_);
    const auto it = followed_.find(NextHop{ifindex, address});
    if (it == followed_.end() || it->second == mac) return false;
    it->second = mac;
    return true;
}

void NeighbourResolver::run() {
    std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
    for (;;) {
        pollfd fds[2] = {{events_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            log_->error("neighbour resolver stopped: poll: {}", std::strerror(errno));
            return;
        }
        if (fds[1].revents) return;
        bool changed = false;
        std::vector<std::pair<int, Ipv4>> lost;  // followed next hops that became unresolved: ask again
        for (;;) {
            const ssize_t received = ::recv(events_.get(), buffer.data(), buffer.size(), 0);
            if (received < 0 && errno == ENOBUFS) {
                // Events were lost: ask the kernel for every followed next hop again.
                std::vector<NextHop> hops;
                {
                    std::lock_guard lock(mutex_);
                    for (const auto& [hop, mac] : followed_) hops.push_back(hop);
                }
                for (const NextHop& hop : hops) {
                    const std::optional<NeighbourFacts> entry = query_neighbour(hop.ifindex, hop.address);
                    const std::optional<Mac> mac = entry ? entry->mac() : std::nullopt;
                    changed |= apply(hop.ifindex, hop.address, mac);
                }
                continue;
            }
            if (received <= 0) break;  // EAGAIN: everything read
            int remaining = static_cast<int>(received);
            for (auto* msg = reinterpret_cast<const nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(msg, remaining);
                 msg = mnl_nlmsg_next(msg, &remaining)) {
                NeighbourFacts facts;
                if (!parse_neigh(msg, facts)) continue;
                const std::optional<Mac> mac = facts.mac();
                if (!apply(facts.ifindex, *facts.address, mac)) continue;
                changed = true;
                if (mac)
                    log_->info("neighbour {} resolved to {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                               format_ip(*facts.address), (*mac)[0], (*mac)[1], (*mac)[2], (*mac)[3], (*mac)[4],
                               (*mac)[5]);
                else
                    log_->info("neighbour {} unresolved: its subscribers' events take the socket path",
                               format_ip(*facts.address));
                // Failed or deleted: ask again (an incomplete entry is being resolved already).
                if (!mac && (facts.deleted || !(facts.state & NUD_INCOMPLETE)))
                    lost.emplace_back(facts.ifindex, *facts.address);
            }
        }
        for (const auto& [ifindex, address] : lost) request_resolution(NextHop{ifindex, address});
        if (changed) on_change_();
    }
}

}  // namespace tempos::xdp
