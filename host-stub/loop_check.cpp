#include "loop_check.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace tempos::mom {

HostAddresses host_addresses() {
    HostAddresses out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
        if (it->ifa_addr == nullptr) continue;
        if (it->ifa_addr->sa_family == AF_INET) {
            Ipv4 ip{};
            std::memcpy(ip.data(), &reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr, ip.size());
            out.ipv4.insert(ip);
        } else if (it->ifa_addr->sa_family == AF_INET6) {
            Ipv6 ip{};
            std::memcpy(ip.data(), &reinterpret_cast<const sockaddr_in6*>(it->ifa_addr)->sin6_addr, ip.size());
            out.ipv6.insert(ip);
        }
    }
    freeifaddrs(list);
    return out;
}

namespace {

constexpr Ipv6 kIpv6Loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

// Why `e` is an address the listener receives on, or "" if it is not.
std::string loops_back(const MomConfig& config, const HostAddresses& local, const Endpoint& e) {
    const SocketAddress& listen = config.listen;
    const std::string listen_text = format_socket_address(listen);
    if (e.port != listen.port) return "";
    if (e.ip6) {
        if (!listen.ip6) return "";  // an IPv4 listener takes no IPv6
        if (*listen.ip6 != Ipv6{}) return *e.ip6 == *listen.ip6 ? "it is [mom] listen itself" : "";
        if (*e.ip6 == kIpv6Loopback) return "::1 is this host and [mom] listen is " + listen_text;
        if (local.ipv6.contains(*e.ip6)) return "it is an address of this host and [mom] listen is " + listen_text;
        return "";
    }
    if (!config.listens_ipv4()) return "";
    const bool any = listen.ip6 || listen.ip == Ipv4{};  // an IPv6 listener that takes IPv4 is a wildcard one
    if (!any) return e.ip == listen.ip ? "it is [mom] listen itself" : "";
    if (e.ip[0] == 127) return "127.0.0.0/8 is this host and [mom] listen is " + listen_text;
    if (local.ipv4.contains(e.ip)) return "it is an address of this host and [mom] listen is " + listen_text;
    return "";
}

}  // namespace

Status check_no_self_subscriber(const MomConfig& config, const HostAddresses& local) {
    for (const auto& [id, topic] : config.topics) {
        for (std::size_t g = 0; g < topic.groups.size(); ++g) {
            const auto& members = topic.groups[g].members;
            for (std::size_t m = 0; m < members.size(); ++m) {
                const std::string why = loops_back(config, local, members[m]);
                if (why.empty()) continue;
                return Status::error(ErrorCode::invalid_argument,
                                     config.where_member(id, g, m) + "topic " + std::to_string(id) + ": subscriber " +
                                         format_endpoint(members[m]) + " is the MoM's own listen endpoint (" + why +
                                         "): its events would come back in and be sent again, forever");
            }
        }
    }
    return Status::ok();
}

Status check_no_self_subscriber(const MomConfig& config) { return check_no_self_subscriber(config, host_addresses()); }

}  // namespace tempos::mom
