#include "local_addresses.hpp"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "network_interface.hpp"
#include "rtnetlink.hpp"
#include "tempos/system_status.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::xdp {

namespace {

constexpr std::size_t kDumpBuffer = 32768;

using MnlSocket = std::unique_ptr<mnl_socket, int (*)(mnl_socket*)>;

Result<MnlSocket> open_netlink(unsigned groups) {
    MnlSocket nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
    if (!nl) return system_status("netlink socket", errno);
    if (mnl_socket_bind(nl.get(), groups, MNL_SOCKET_AUTOPID) < 0) return system_status("netlink bind", errno);
    return nl;
}

// Sends a dump request (`header` filled by the caller) and runs `callback` on every reply message.
Status dump(mnl_socket* nl, std::uint16_t type, const void* family_header, std::size_t header_size,
            mnl_cb_t callback, void* data) {
    std::vector<char> buffer(kDumpBuffer);
    nlmsghdr* request = mnl_nlmsg_put_header(buffer.data());
    request->nlmsg_type = type;
    request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    const auto seq = static_cast<unsigned>(std::time(nullptr));
    request->nlmsg_seq = seq;
    std::memcpy(mnl_nlmsg_put_extra_header(request, header_size), family_header, header_size);
    if (mnl_socket_sendto(nl, request, request->nlmsg_len) < 0) return system_status("netlink dump request", errno);
    const unsigned portid = mnl_socket_get_portid(nl);
    for (;;) {
        const ssize_t received = mnl_socket_recvfrom(nl, buffer.data(), buffer.size());
        if (received < 0) return system_status("netlink dump", errno);
        const int rc = mnl_cb_run(buffer.data(), static_cast<std::size_t>(received), seq, portid, callback, data);
        if (rc == MNL_CB_ERROR) return system_status("netlink dump", errno);
        if (rc == MNL_CB_STOP) return Status::ok();
    }
}

struct LinkDump {
    int ifindex;
    std::map<int, Mac> links;  // the interface and its VLAN sub-interfaces, with their MACs
};

int on_link(const nlmsghdr* message, void* data) {
    auto* dump = static_cast<LinkDump*>(data);
    const auto* link = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(message));
    NlAttributes attributes(IFLA_MAX);
    mnl_attr_parse(message, sizeof(*link), collect_attribute, &attributes);
    const nlattr* lower = attributes[IFLA_LINK];
    const bool vlan_child = lower != nullptr && mnl_attr_get_payload_len(lower) == sizeof(std::uint32_t) &&
                            static_cast<int>(mnl_attr_get_u32(lower)) == dump->ifindex &&
                            is_vlan_link(attributes[IFLA_LINKINFO]);
    if (link->ifi_index != dump->ifindex && !vlan_child) return MNL_CB_OK;
    Mac mac{};
    if (const nlattr* address = attributes[IFLA_ADDRESS]; address && mnl_attr_get_payload_len(address) == mac.size())
        std::memcpy(mac.data(), mnl_attr_get_payload(address), mac.size());
    dump->links[link->ifi_index] = mac;
    return MNL_CB_OK;
}

struct AddressDump {
    const std::map<int, Mac>* links;
    std::set<Ipv4> ipv4;
    std::set<Ipv6> ipv6;
};

template <typename Address>
void take_address(const nlattr* attribute, std::set<Address>& into) {
    Address ip{};
    if (!attribute || mnl_attr_get_payload_len(attribute) != ip.size()) return;
    std::memcpy(ip.data(), mnl_attr_get_payload(attribute), ip.size());
    into.insert(ip);
}

int on_address(const nlmsghdr* message, void* data) {
    auto* dump = static_cast<AddressDump*>(data);
    const auto* address = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(message));
    if (!dump->links->contains(static_cast<int>(address->ifa_index))) return MNL_CB_OK;
    NlAttributes attributes(IFA_MAX);
    mnl_attr_parse(message, sizeof(*address), collect_attribute, &attributes);
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on point-to-point links (IPv6 gives
    // IFA_LOCAL only there, IFA_ADDRESS otherwise).
    const nlattr* local = attributes[IFA_LOCAL] ? attributes[IFA_LOCAL] : attributes[IFA_ADDRESS];
    if (address->ifa_family == AF_INET) take_address(local, dump->ipv4);
    if (address->ifa_family == AF_INET6 && address->ifa_scope != RT_SCOPE_LINK) take_address(local, dump->ipv6);
    return MNL_CB_OK;
}

}  // namespace

ListenAddresses listen_addresses(const ChannelConfig& channel) {
    ListenAddresses listen;
    if (channel.receives_ipv4) listen.ipv4 = channel.mom_address;
    listen.ipv6 = channel.mom_address6;
    return listen;
}

Result<LocalDestinations> query_local_destinations(int ifindex, const ListenAddresses& listen) {
    Result<MnlSocket> nl = open_netlink(0);
    if (!nl) return nl.status();
    LinkDump links{ifindex, {}};
    const ifinfomsg link_request{};
    if (Status s = dump(nl->get(), RTM_GETLINK, &link_request, sizeof link_request, on_link, &links); !s) return s;
    if (!links.links.contains(ifindex))
        return Status::error(ErrorCode::not_found, "interface index " + std::to_string(ifindex) + " not found");

    LocalDestinations out;
    for (const auto& [index, mac] : links.links)
        if (mac != Mac{}) out.macs.insert(mac);
    const bool any_ipv4 = listen.ipv4 && *listen.ipv4 == Ipv4{};
    const bool any_ipv6 = listen.ipv6 && *listen.ipv6 == Ipv6{};
    if (listen.ipv4 && !any_ipv4) out.ipv4.insert(*listen.ipv4);
    if (listen.ipv6 && !any_ipv6) out.ipv6.insert(*listen.ipv6);
    if (!any_ipv4 && !any_ipv6) return out;
    AddressDump addresses{&links.links, {}, {}};
    ifaddrmsg address_request{};
    address_request.ifa_family = AF_UNSPEC;
    if (Status s = dump(nl->get(), RTM_GETADDR, &address_request, sizeof address_request, on_address, &addresses); !s)
        return s;
    if (any_ipv4) out.ipv4 = std::move(addresses.ipv4);
    if (any_ipv6) out.ipv6 = std::move(addresses.ipv6);
    return out;
}

Result<std::unique_ptr<LocalAddressWatcher>> LocalAddressWatcher::start(int ifindex, const ListenAddresses& listen,
                                                                        DestinationTable table,
                                                                        std::shared_ptr<spdlog::logger> log) {
    // Subscribed before the first dump, so no change between the two is missed.
    Result<MnlSocket> events = open_netlink(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
    if (!events) return events.status();
    const int fd = mnl_socket_get_fd(events->get());
    if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return system_status("netlink O_NONBLOCK", errno);
    UniqueFd wakeup(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (wakeup.get() < 0) return system_status("eventfd", errno);
    std::unique_ptr<LocalAddressWatcher> watcher(
        new LocalAddressWatcher(ifindex, listen, table, std::move(log), events->release(), std::move(wakeup)));
    if (Status filled = watcher->resync(); !filled) return filled.prefixed("local addresses");
    watcher->thread_ = std::thread([w = watcher.get()] { w->run(); });
    return watcher;
}

LocalAddressWatcher::LocalAddressWatcher(int ifindex, const ListenAddresses& listen, DestinationTable table,
                                         std::shared_ptr<spdlog::logger> log, mnl_socket* events, UniqueFd wakeup)
    : ifindex_(ifindex), listen_(listen), table_(table), log_(std::move(log)), events_(events), wakeup_(std::move(wakeup)) {}

LocalAddressWatcher::~LocalAddressWatcher() {
    if (thread_.joinable()) {
        const std::uint64_t one = 1;
        (void)!::write(wakeup_.get(), &one, sizeof one);
        thread_.join();
    }
    mnl_socket_close(events_);
}

LocalDestinations LocalAddressWatcher::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

Status LocalAddressWatcher::resync() {
    Result<LocalDestinations> wanted = query_local_destinations(ifindex_, listen_);
    if (!wanted) return wanted.status();
    {
        std::lock_guard lock(mutex_);
        if (*wanted == current_ && filled_) return Status::ok();
    }
    if (Status set = table_.set(*wanted); !set) return set;
    std::string text;
    for (const Ipv4& ip : wanted->ipv4) text += (text.empty() ? "" : ", ") + format_ip(ip);
    std::string text6;
    for (const Ipv6& ip : wanted->ipv6) text6 += (text6.empty() ? "" : ", ") + format_ip(ip);
    log_->info("taking frames for {} MAC(s), IPv4 {} and IPv6 {}", wanted->macs.size(), text.empty() ? "(none)" : text,
               text6.empty() ? "(none)" : text6);
    std::lock_guard lock(mutex_);
    current_ = std::move(*wanted);
    if (filled_) updates_.fetch_add(1);
    filled_ = true;
    return Status::ok();
}

// Any link or address message may change the set: drain them, then compute it again.
void LocalAddressWatcher::run() noexcept {
    try {
        pthread_setname_np(pthread_self(), "tempos-addrs");
        // It reads netlink and writes maps it holds open: no capability needed (Adapter::capabilities_kept).
        if (Status dropped = drop_thread_capabilities(); !dropped)
            log_->error("the local address watcher kept its capabilities: {}", dropped.message());
        std::vector<char> buffer(kDumpBuffer);
        for (;;) {
            pollfd fds[2] = {{mnl_socket_get_fd(events_), POLLIN, 0}, {wakeup_.get(), POLLIN, 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                log_->error("local address watcher stopped, poll(): {}; address changes are no longer followed",
                            std::strerror(errno));
                return;
            }
            if (fds[1].revents != 0) return;
            bool changed = false;
            for (;;) {
                const ssize_t n = mnl_socket_recvfrom(events_, buffer.data(), buffer.size());
                if (n > 0 || (n < 0 && errno == ENOBUFS)) {  // ENOBUFS: messages were lost, resync anyway
                    changed = true;
                    continue;
                }
                break;
            }
            if (!changed) continue;
            if (Status synced = resync(); !synced) log_->warn("local addresses not updated: {}", synced.message());
        }
    } catch (const std::exception& e) {
        log_->error("local address watcher stopped: {}; address changes are no longer followed", e.what());
    } catch (...) {
        log_->error("local address watcher stopped; address changes are no longer followed");
    }
}

}  // namespace tempos::xdp
