#include "network_interface.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "rtnetlink.hpp"
#include "tempos/system_status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

std::string format_ip(const Ipv4& ip) {
    return std::to_string(ip[0]) + "." + std::to_string(ip[1]) + "." + std::to_string(ip[2]) + "." +
           std::to_string(ip[3]);
}

std::string format_ip(const Ipv6& ip) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, ip.data(), text, sizeof text);
    return text;
}

IpAddress endpoint_address(const Endpoint& endpoint) {
    if (endpoint.ip6) return *endpoint.ip6;
    return endpoint.ip;
}

std::string format_ip(const IpAddress& ip) {
    return std::visit([](const auto& address) { return format_ip(address); }, ip);
}

std::string format_mac(const Mac& mac) {
    char text[18];
    std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                  mac[5]);
    return text;
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

namespace {

struct RouteAnswer {
    std::optional<int> ifindex;
    std::optional<IpAddress> gateway;
};

int parse_route_attr(const nlattr* attr, void* data) {
    auto* answer = static_cast<RouteAnswer*>(data);
    if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
        answer->ifindex = static_cast<int>(mnl_attr_get_u32(attr));
    if (mnl_attr_get_type(attr) == RTA_GATEWAY) {
        if (std::optional<IpAddress> gateway = address_attribute(attr)) answer->gateway = *gateway;
    }
    return MNL_CB_OK;
}

int parse_route(const nlmsghdr* msg, void* data) {
    if (msg->nlmsg_type == RTM_NEWROUTE) mnl_attr_parse(msg, sizeof(rtmsg), parse_route_attr, data);
    return MNL_CB_OK;
}

}  // namespace

namespace {

struct LinkAnswer {
    std::optional<VlanLink> vlan;
};

int parse_link(const nlmsghdr* msg, void* data) {
    if (msg->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
    NlAttributes attributes(IFLA_MAX);
    mnl_attr_parse(msg, sizeof(ifinfomsg), collect_attribute, &attributes);
    const nlattr* linkinfo = attributes[IFLA_LINKINFO];
    const nlattr* lower = attributes[IFLA_LINK];
    if (!is_vlan_link(linkinfo) || lower == nullptr || mnl_attr_validate(lower, MNL_TYPE_U32) < 0) return MNL_CB_OK;
    NlAttributes info(IFLA_INFO_MAX);
    mnl_attr_parse_nested(linkinfo, collect_attribute, &info);
    if (info[IFLA_INFO_DATA] == nullptr) return MNL_CB_OK;
    NlAttributes vlan(IFLA_VLAN_MAX);
    mnl_attr_parse_nested(info[IFLA_INFO_DATA], collect_attribute, &vlan);
    if (vlan[IFLA_VLAN_ID] == nullptr || mnl_attr_validate(vlan[IFLA_VLAN_ID], MNL_TYPE_U16) < 0) return MNL_CB_OK;
    VlanLink link;
    link.lower_ifindex = static_cast<int>(mnl_attr_get_u32(lower));
    link.vid = mnl_attr_get_u16(vlan[IFLA_VLAN_ID]);
    // The protocol attribute is in network order; absent on old kernels, which only had 802.1Q.
    link.tpid = vlan[IFLA_VLAN_PROTOCOL] != nullptr ? ntohs(mnl_attr_get_u16(vlan[IFLA_VLAN_PROTOCOL])) : ETH_P_8021Q;
    static_cast<LinkAnswer*>(data)->vlan = link;
    return MNL_CB_OK;
}

}  // namespace

Result<std::optional<VlanLink>> query_vlan(int ifindex) {
    RtnlRequest request(RTM_GETLINK, NLM_F_REQUEST);
    request.extra<ifinfomsg>()->ifi_index = ifindex;
    LinkAnswer answer;
    if (Status st = request.run("RTM_GETLINK " + std::to_string(ifindex), parse_link, &answer); !st) return st;
    return answer.vlan;
}

namespace {

// The kernel's answer (RTM_GETROUTE) for one destination address.
Result<RouteAnswer> route_answer(const IpAddress& destination) {
    RtnlRequest request(RTM_GETROUTE, NLM_F_REQUEST);
    auto* route = request.extra<rtmsg>();
    route->rtm_family = address_family(destination);
    route->rtm_dst_len = static_cast<unsigned char>(put_address(request.header(), RTA_DST, destination) * 8);
    RouteAnswer answer;
    if (Status st = request.run("RTM_GETROUTE", parse_route, &answer); !st)
        return Status::error(ErrorCode::invalid_argument,
                             "no route to subscriber " + format_ip(destination) + ": " + st.message());
    if (!answer.ifindex)
        return Status::error(ErrorCode::system_error,
                             "route to subscriber " + format_ip(destination) + " names no output interface");
    return answer;
}

}  // namespace

Result<RouteNextHop> route_next_hop(const IpAddress& destination) {
    const Result<RouteAnswer> answer = route_answer(destination);
    if (!answer) return answer.status();
    return RouteNextHop{*answer->ifindex, answer->gateway.value_or(destination)};
}

Result<int> route_output_ifindex(const IpAddress& destination) {
    const Result<RouteNextHop> hop = route_next_hop(destination);
    if (!hop) return hop.status();
    return hop->ifindex;
}

}  // namespace tempos::xdp
