#include "device_xdp_info.hpp"

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "rtnetlink.hpp"
#include "tempos/system_status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

namespace {

// 0, or the errno of the SIOCETHTOOL ioctl.
int ethtool_errno(const std::string& interface, void* command) {
    tempos::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (sock.get() < 0) return errno;
    ifreq request{};
    std::strncpy(request.ifr_name, interface.c_str(), IFNAMSIZ - 1);
    request.ifr_data = static_cast<char*>(command);
    return ::ioctl(sock.get(), SIOCETHTOOL, &request) == 0 ? 0 : errno;
}

Status ethtool(const std::string& interface, void* command, const char* what) {
    const int err = ethtool_errno(interface, command);
    return err == 0 ? Status::ok() : system_status(std::string(what) + " on " + interface, err);
}

// What RTM_GETLINK tells about one link.
struct LinkFacts {
    std::string name;
    std::optional<std::uint32_t> link;        // IFLA_LINK: a veth's peer ifindex
    std::optional<std::int32_t> link_netnsid;  // IFLA_LINK_NETNSID: the peer's namespace, if another one
    std::uint8_t xdp_attached = XDP_ATTACHED_NONE;
    std::uint32_t xdp_drv_prog_id = 0;
    std::uint64_t tx_dropped = 0;
};

// The attribute's payload, or nothing when it is malformed (the fact then keeps its default).
std::optional<std::uint32_t> u32_of(const nlattr* attr) {
    if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return std::nullopt;
    return mnl_attr_get_u32(attr);
}
std::optional<std::uint8_t> u8_of(const nlattr* attr) {
    if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0) return std::nullopt;
    return mnl_attr_get_u8(attr);
}

int parse_xdp(const nlattr* attr, void* data) {
    auto* facts = static_cast<LinkFacts*>(data);
    switch (mnl_attr_get_type(attr)) {
        case IFLA_XDP_ATTACHED: facts->xdp_attached = u8_of(attr).value_or(facts->xdp_attached); break;
        case IFLA_XDP_DRV_PROG_ID: facts->xdp_drv_prog_id = u32_of(attr).value_or(facts->xdp_drv_prog_id); break;
        default: break;
    }
    return MNL_CB_OK;
}

int parse_link_attr(const nlattr* attr, void* data) {
    auto* facts = static_cast<LinkFacts*>(data);
    switch (mnl_attr_get_type(attr)) {
        case IFLA_IFNAME:
            if (mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) facts->name = mnl_attr_get_str(attr);
            break;
        case IFLA_LINK:
            if (const auto link = u32_of(attr)) facts->link = *link;
            break;
        case IFLA_LINK_NETNSID:
            if (const auto id = u32_of(attr)) facts->link_netnsid = static_cast<std::int32_t>(*id);
            break;
        case IFLA_XDP: mnl_attr_parse_nested(attr, parse_xdp, facts); break;
        case IFLA_STATS64:
            if (mnl_attr_get_payload_len(attr) >= sizeof(rtnl_link_stats64)) {
                rtnl_link_stats64 stats;
                std::memcpy(&stats, mnl_attr_get_payload(attr), sizeof(stats));
                facts->tx_dropped = stats.tx_dropped;
            }
            break;
        default: break;
    }
    return MNL_CB_OK;
}

int parse_link(const nlmsghdr* msg, void* data) {
    if (msg->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
    mnl_attr_parse(msg, sizeof(ifinfomsg), parse_link_attr, data);
    return MNL_CB_OK;
}

// RTM_GETLINK for one ifindex, in the namespace `netnsid` names (as this namespace sees it) when given.
Result<LinkFacts> get_link(int ifindex, std::optional<std::int32_t> netnsid) {
    RtnlRequest request(RTM_GETLINK, NLM_F_REQUEST);
    auto* info = request.extra<ifinfomsg>();
    info->ifi_family = AF_UNSPEC;
    info->ifi_index = ifindex;
    if (netnsid) mnl_attr_put_u32(request.header(), IFLA_TARGET_NETNSID, static_cast<std::uint32_t>(*netnsid));
    LinkFacts facts;
    if (Status st = request.run("RTM_GETLINK for ifindex " + std::to_string(ifindex), parse_link, &facts); !st)
        return st;
    return facts;
}

bool runs_native_xdp(const LinkFacts& facts) {
    return facts.xdp_attached == XDP_ATTACHED_DRV ||
           (facts.xdp_attached == XDP_ATTACHED_MULTI && facts.xdp_drv_prog_id != 0);
}

// A veth's peer as RTM_GETLINK tells it, and its name as the logs and /metrics show it.
struct PeerLink {
    LinkFacts facts;
    std::string label;  // "p-mom-eth0 (netns id 0)"
};
Result<PeerLink> peer_of(const LinkFacts& self) {
    if (!self.link || *self.link == 0)
        return Status::error(ErrorCode::not_found, "the kernel names no peer of " + self.name);
    const std::string netns = self.link_netnsid ? "netns id " + std::to_string(*self.link_netnsid) : "";
    Result<LinkFacts> peer = get_link(static_cast<int>(*self.link), self.link_netnsid);
    if (!peer)
        return Status::error(peer.status().code(), "its peer (ifindex " + std::to_string(*self.link) +
                                                       (netns.empty() ? "" : " in " + netns) +
                                                       ") cannot be queried: " + peer.message());
    PeerLink answer{std::move(*peer), {}};
    answer.label = answer.facts.name + (netns.empty() ? "" : " (" + netns + ")");
    return answer;
}

}  // namespace

Result<std::string> device_driver(const std::string& interface) {
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    if (Status st = ethtool(interface, &info, "ETHTOOL_GDRVINFO"); !st) return st;
    return std::string(info.driver, strnlen(info.driver, sizeof(info.driver)));
}

PeerXdp veth_peer_xdp(int ifindex) {
    PeerXdp answer;
    const Result<LinkFacts> self = get_link(ifindex, std::nullopt);
    if (!self) {
        answer.why = self.message();
        return answer;
    }
    const Result<PeerLink> peer = peer_of(*self);
    if (!peer) {
        answer.why = peer.message();
        return answer;
    }
    answer.peer = peer->label;
    answer.state = runs_native_xdp(peer->facts) ? PeerXdp::State::native : PeerXdp::State::none;
    return answer;
}

Result<PeerDrops> veth_peer_drops(int ifindex) {
    const Result<LinkFacts> self = get_link(ifindex, std::nullopt);
    if (!self) return self.status();
    const Result<PeerLink> peer = peer_of(*self);
    if (!peer) return peer.status();
    return PeerDrops{peer->facts.name, peer->facts.tx_dropped};
}

Result<DeviceDrops> device_drops(const std::string& interface, int ifindex) {
    DeviceDrops drops;
    const Result<LinkFacts> link = get_link(ifindex, std::nullopt);
    if (!link) return link.status();
    drops.tx_dropped = link->tx_dropped;
    // A VLAN or macvlan names its lower device as IFLA_LINK too: only a veth's is a peer that sends into it.
    const Result<std::string> driver = device_driver(interface);
    drops.veth = driver && *driver == "veth";

    // ETHTOOL_GSSET_INFO: how many statistics; then their names and their values, in the same order.
    // ethtool_sset_info ends in a flexible array: one std::uint32_t for the one set asked for.
    std::vector<std::uint64_t> sset_buffer((sizeof(ethtool_sset_info) + sizeof(std::uint32_t) + 7) / 8);
    auto* sset = reinterpret_cast<ethtool_sset_info*>(sset_buffer.data());
    sset->cmd = ETHTOOL_GSSET_INFO;
    sset->sset_mask = 1ULL << ETH_SS_STATS;
    if (const int err = ethtool_errno(interface, sset); err != 0) {
        if (err == EOPNOTSUPP) return drops;  // a driver without statistics (lo, ...) counts no XDP errors
        return system_status("ETHTOOL_GSSET_INFO on " + interface, err);
    }
    const std::uint32_t count = (sset->sset_mask & (1ULL << ETH_SS_STATS)) ? sset->data[0] : 0;
    if (count == 0) return drops;

    std::vector<std::uint8_t> names(sizeof(ethtool_gstrings) + std::size_t{count} * ETH_GSTRING_LEN);
    auto* strings = reinterpret_cast<ethtool_gstrings*>(names.data());
    strings->cmd = ETHTOOL_GSTRINGS;
    strings->string_set = ETH_SS_STATS;
    strings->len = count;
    if (Status st = ethtool(interface, strings, "ETHTOOL_GSTRINGS"); !st) return st;

    std::vector<std::uint8_t> values(sizeof(ethtool_stats) + std::size_t{count} * sizeof(std::uint64_t));
    auto* stats = reinterpret_cast<ethtool_stats*>(values.data());
    stats->cmd = ETHTOOL_GSTATS;
    stats->n_stats = count;
    if (Status st = ethtool(interface, stats, "ETHTOOL_GSTATS"); !st) return st;

    for (std::uint32_t i = 0; i < count && i < strings->len && i < stats->n_stats; ++i) {
        const char* raw = reinterpret_cast<const char*>(strings->data + std::size_t{i} * ETH_GSTRING_LEN);
        const std::string name(raw, strnlen(raw, ETH_GSTRING_LEN));
        if (name.find("xdp") != std::string::npos && name.find("err") != std::string::npos)
            drops.xdp_errors += stats->data[i];
    }
    return drops;
}

}  // namespace tempos::xdp
