#include "loop_check.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace tempos::mom {

std::set<Ipv4> host_ipv4_addresses() {
    std::set<Ipv4> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
        if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
        Ipv4 ip{};
        std::memcpy(ip.data(), &reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr, ip.size());
        out.insert(ip);
    }
    freeifaddrs(list);
    return out;
}

Status check_no_self_subscriber(const MomConfig& config, const std::set<Ipv4>& local_addresses) {
    const SocketAddress& listen = config.listen;
    const bool any = listen.ip == Ipv4{};
    for (const auto& [id, topic] : config.topics) {
        for (std::size_t g = 0; g < topic.groups.size(); ++g) {
            const auto& members = topic.groups[g].members;
            for (std::size_t m = 0; m < members.size(); ++m) {
                const Endpoint& e = members[m];
                if (e.port != listen.port) continue;
                const bool loopback = e.ip[0] == 127;
                std::string why;
                if (!any && e.ip == listen.ip)
                    why = "it is [mom] listen itself";
                else if (any && loopback)
                    why = "127.0.0.0/8 is this host and [mom] listen is 0.0.0.0";
                else if (any && local_addresses.contains(e.ip))
                    why = "it is an address of this host and [mom] listen is 0.0.0.0";
                if (why.empty()) continue;
                return Status::error(ErrorCode::invalid_argument,
                                     config.where_member(id, g, m) + "topic " + std::to_string(id) + ": subscriber " +
                                         format_socket_address({e.ip, e.port}) + " is the MoM's own listen endpoint (" +
                                         why + "): its events would come back in and be sent again, forever");
            }
        }
    }
    return Status::ok();
}

Status check_no_self_subscriber(const MomConfig& config) {
    return check_no_self_subscriber(config, host_ipv4_addresses());
}

}  // namespace tempos::mom
