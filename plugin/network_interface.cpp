#include "network_interface.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tempos/system_status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

std::string format_ip(const Ipv4& ip) {
    return std::to_string(ip[0]) + "." + std::to_string(ip[1]) + "." + std::to_string(ip[2]) + "." +
           std::to_string(ip[3]);
}

Result<InterfaceInfo> query_interface(const std::string& name) {
    if (name.empty()) return Status::error(ErrorCode::invalid_argument, "no interface given");
    const unsigned ifindex = if_nametoindex(name.c_str());
    if (ifindex == 0) {
        const int err = errno;
        return Status::error(ErrorCode::not_found, "interface \"" + name + "\" not found: " + std::strerror(err));
    }
    InterfaceInfo info;
    info.name = name;
    info.ifindex = static_cast<int>(ifindex);

    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return system_status("getifaddrs", errno);
    for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
        if (it->ifa_addr == nullptr || name != it->ifa_name) continue;
        if (it->ifa_addr->sa_family == AF_PACKET) {
            const auto* ll = reinterpret_cast<const sockaddr_ll*>(it->ifa_addr);
            if (ll->sll_halen == info.mac.size()) std::memcpy(info.mac.data(), ll->sll_addr, info.mac.size());
        } else if (it->ifa_addr->sa_family == AF_INET && !info.ipv4) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
            Ipv4 ip;
            std::memcpy(ip.data(), &in->sin_addr.s_addr, ip.size());
            info.ipv4 = ip;
        }
    }
    freeifaddrs(list);
    return info;
}

Result<InterfaceInfo> query_interface(int ifindex) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(static_cast<unsigned>(ifindex), name) == nullptr)
        return system_status("interface index " + std::to_string(ifindex), errno);
    return query_interface(std::string(name));
}

Result<int> route_output_ifindex(const Ipv4& destination) {
    tempos::UniqueFd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (sock.get() < 0) return system_status("netlink socket", errno);

    struct {
        nlmsghdr header;
        rtmsg route;
        rtattr dst_attr;
        std::uint8_t dst[4];
    } request{};
    request.header.nlmsg_len = sizeof(request);
    request.header.nlmsg_type = RTM_GETROUTE;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = 1;
    request.route.rtm_family = AF_INET;
    request.route.rtm_dst_len = 32;
    request.dst_attr.rta_type = RTA_DST;
    request.dst_attr.rta_len = RTA_LENGTH(sizeof(request.dst));
    std::memcpy(request.dst, destination.data(), sizeof(request.dst));
    static_assert(sizeof(request) == NLMSG_LENGTH(sizeof(rtmsg)) + RTA_LENGTH(4));

    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(sock.get(), &request, sizeof(request), 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof(kernel)) < 0)
        return system_status("RTM_GETROUTE", errno);

    alignas(nlmsghdr) char buffer[8192];
    const ssize_t received = ::recv(sock.get(), buffer, sizeof(buffer), 0);
    if (received < 0) return system_status("RTM_GETROUTE reply", errno);
    int remaining = static_cast<int>(received);
    for (auto* msg = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(msg, remaining); msg = NLMSG_NEXT(msg, remaining)) {
        if (msg->nlmsg_type == NLMSG_ERROR) {
            const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(msg));
            return Status::error(ErrorCode::invalid_argument, "no route to subscriber " + format_ip(destination) +
                                                                  ": " + std::strerror(-error->error));
        }
        if (msg->nlmsg_type != RTM_NEWROUTE) continue;
        auto* route = static_cast<rtmsg*>(NLMSG_DATA(msg));
        int attr_len = static_cast<int>(RTM_PAYLOAD(msg));
        for (auto* attr = RTM_RTA(route); RTA_OK(attr, attr_len); attr = RTA_NEXT(attr, attr_len)) {
            if (attr->rta_type == RTA_OIF) {
                int ifindex = 0;
                std::memcpy(&ifindex, RTA_DATA(attr), sizeof(ifindex));
                return ifindex;
            }
        }
    }
    return Status::error(ErrorCode::system_error,
                         "route to subscriber " + format_ip(destination) + " names no output interface");
}

std::optional<bool> ipv4_forwarding_enabled(const std::string& name) {
    std::ifstream file("/proc/sys/net/ipv4/conf/" + name + "/forwarding");
    int value = -1;
    if (!(file >> value)) return std::nullopt;
    return value != 0;
}

}  // namespace tempos::xdp
