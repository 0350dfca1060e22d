#include "route_translation.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace tempos::xdp {

namespace {
std::string topic_label(const TopicConfig& topic) { return "topic " + std::to_string(topic.id); }
}  // namespace

Status validate_topic(const TopicConfig& topic) {
    if (topic.qos == Qos::strict && topic.groups.size() > TEMPOS_MAX_FANOUT_GROUPS)
        return Status::error(ErrorCode::invalid_argument,
                             topic_label(topic) + ": strict with " + std::to_string(topic.groups.size()) +
                                 " subscription groups, at most " + std::to_string(TEMPOS_MAX_FANOUT_GROUPS) +
                                 " supported (the kernel fan-out's limit, docs/fanout.md)");
    for (std::size_t g = 0; g < topic.groups.size(); ++g) {
        const auto& members = topic.groups[g].members;
        const std::string where = topic_label(topic) + ", group " + std::to_string(g);
        if (members.empty())
            return Status::error(ErrorCode::invalid_argument, where + ": a subscription group needs a member");
        if (members.size() > TEMPOS_MAX_SUBSCRIBERS)
            return Status::error(ErrorCode::invalid_argument,
                                 where + ": " + std::to_string(members.size()) + " members, at most " +
                                     std::to_string(TEMPOS_MAX_SUBSCRIBERS) + " supported");
        for (const auto& member : members) {
            if (member.ip == Ipv4{} && !member.ip6)
                return Status::error(ErrorCode::invalid_argument, where + ": subscriber address 0.0.0.0");
            if (member.port == 0)
                return Status::error(ErrorCode::invalid_argument, where + ": subscriber port 0");
        }
    }
    return Status::ok();
}

Result<tempos_route> translate_group(const SubscriptionGroup& group, const EgressResolver& egress,
                                     const NeighbourLookup& neighbour) {
    if (group.members.empty() || group.members.size() > TEMPOS_MAX_SUBSCRIBERS)
        return Status::error(ErrorCode::invalid_argument,
                             "a kernel route holds 1.." + std::to_string(TEMPOS_MAX_SUBSCRIBERS) + " subscribers, got " +
                                 std::to_string(group.members.size()));
    tempos_route route{};
    route.count = static_cast<__u32>(group.members.size());
    for (std::size_t i = 0; i < group.members.size(); ++i) {
        const Endpoint& member = group.members[i];
        tempos_endpoint& entry = route.subs[i];
        if (member.ip6) {
            entry.flags = TEMPOS_EP_IPV6;
            std::memcpy(entry.ipv6, member.ip6->data(), sizeof(entry.ipv6));  // already network order
        } else {
            std::memcpy(&entry.ipv4, member.ip.data(), sizeof(entry.ipv4));
        }
        entry.port = htons(member.port);
        const std::optional<Mac> mac = member.mac ? member.mac : neighbour ? neighbour(member) : std::nullopt;
        if (!mac) continue;
        const Result<EgressPort> out = egress(member);
        if (!out) return out.status();
        entry.flags |= TEMPOS_EP_HAS_MAC;
        std::memcpy(entry.mac, mac->data(), sizeof(entry.mac));
        std::memcpy(entry.src_mac, out->src_mac.data(), sizeof(entry.src_mac));
        entry.ifindex = static_cast<__u32>(out->ifindex);
    }
    return route;
}

Result<std::vector<tempos_route>> translate_fanout(const TopicConfig& topic, const EgressResolver& egress,
                                                   const NeighbourLookup& neighbour) {
    if (topic.groups.empty() || topic.groups.size() > TEMPOS_MAX_FANOUT_GROUPS)
        return Status::error(ErrorCode::invalid_argument,
                             topic_label(topic) + ": the kernel fan-out serves 1.." +
                                 std::to_string(TEMPOS_MAX_FANOUT_GROUPS) + " subscription groups, got " +
                                 std::to_string(topic.groups.size()));
    std::vector<tempos_route> routes;
    routes.reserve(topic.groups.size());
    for (std::size_t g = 0; g < topic.groups.size(); ++g) {
        const Result<tempos_route> route = translate_group(topic.groups[g], egress, neighbour);
        if (!route) return route.status().prefixed(topic_label(topic) + ", group " + std::to_string(g));
        routes.push_back(*route);
    }
    return routes;
}

bool has_macless_member(const TopicConfig& topic) {
    for (const SubscriptionGroup& group : topic.groups)
        for (const Endpoint& member : group.members)
            if (!member.mac) return true;
    return false;
}

}  // namespace tempos::xdp
