#include "topology/layouts.hpp"

#include "topology/world.hpp"

namespace tempos::testkit {

namespace {

Status build_bridged(Topology& t, bool two_legged, int subscribers, const BridgedOptions& o) {
    namespace w = world::bridged;
    // The IPv6 address of an interface, when the layout has IPv6.
    auto add_ipv6 = [&](const std::string& node, const std::string& ifname, const std::string& ip) {
        return o.ipv6 ? t.add_ipv6(node, ifname, ip + "/64") : Status::ok();
    };
    if (Status st = t.add_bridge("segA"); !st) return st;
    for (const char* node : {world::kPub, world::kMom})
        if (Status st = t.add_node(node); !st) return st;
    if (Status st = t.link_to_bridge({world::kPub, "eth0", std::string(w::kPubIp) + "/24"}, "segA"); !st) return st;
    if (Status st = add_ipv6(world::kPub, "eth0", w::kPubIp6); !st) return st;
    if (o.publisher_tx_csum_off)
        if (Status st = t.set_tx_checksum(world::kPub, "eth0", false); !st) return st;
    if (Status st = t.link_to_bridge({world::kMom, w::kMomIf, std::string(w::kMomIp) + "/24"}, "segA"); !st)
        return st;
    if (Status st = add_ipv6(world::kMom, w::kMomIf, w::kMomIp6); !st) return st;
    if (o.peer_pass)
        if (Status st = t.attach_peer_pass(world::kLan, Topology::bridge_port(world::kMom, w::kMomIf)); !st) return st;
    std::string sub_segment = "segA";
    if (two_legged) {
        sub_segment = "segB";
        if (Status st = t.add_bridge("segB"); !st) return st;
        if (Status st = t.link_to_bridge({world::kMom, w::kMomEgressIf, std::string(w::kMomEgressIp) + "/24"}, "segB");
            !st)
            return st;
        if (Status st = add_ipv6(world::kMom, w::kMomEgressIf, w::kMomEgressIp6); !st) return st;
        if (o.peer_pass)
            if (Status st = t.attach_peer_pass(world::kLan, Topology::bridge_port(world::kMom, w::kMomEgressIf)); !st) return st;
        if (Status st = t.add_route(world::kPub, w::kSegmentB, w::kMomIp); !st) return st;
        if (o.ipv6)
            if (Status st = t.add_route(world::kPub, w::kSegmentB6, w::kMomIp6); !st) return st;
    }
    if (o.forwarding)
        if (Status st = t.enable_forwarding(world::kMom); !st) return st;
    for (int i = 1; i <= subscribers; ++i) {
        const std::string sub = world::subscriber(i);
        if (Status st = t.add_node(sub); !st) return st;
        if (Status st = t.link_to_bridge({sub, "eth0", w::subscriber_ip(two_legged, i) + "/24"}, sub_segment); !st)
            return st;
        if (Status st = add_ipv6(sub, "eth0", w::subscriber_ip6(two_legged, i)); !st) return st;
        if (two_legged)
            if (Status st = t.add_route(sub, w::kSegmentA, w::kMomEgressIp); !st) return st;
        if (two_legged && o.ipv6)
            if (Status st = t.add_route(sub, w::kSegmentA6, w::kMomEgressIp6); !st) return st;
    }
    return Status::ok();
}

Result<Topology> bridged(bool two_legged, int subscribers, const BridgedOptions& options, const std::string& id) {
    Topology::remove_stale();
    Topology t(id);
    if (Status st = build_bridged(t, two_legged, subscribers, options); !st)
        return st.prefixed(std::string("building the ") + (two_legged ? "two" : "one") + "-legged topology " + id);
    return t;
}

Status build_point_to_point(Topology& t, const PointToPointOptions& o) {
    namespace w = world::point_to_point;
    const std::string sub1 = world::subscriber(1), sub2 = world::subscriber(2);
    std::vector<std::string> nodes{world::kPub, world::kMom, sub1};
    if (o.with_sub2) nodes.push_back(sub2);
    for (const std::string& node : nodes)
        if (Status st = t.add_node(node); !st) return st;
    auto with_prefix = [](const char* ip) { return std::string(ip) + "/24"; };
    std::vector<std::pair<Interface, Interface>> links{
        {{world::kPub, "eth0", with_prefix(w::kPubIp)}, {world::kMom, "eth0", with_prefix(w::kMomIp)}},
        {{world::kMom, "eth1", with_prefix(w::kMomSub1Ip)}, {sub1, "eth0", with_prefix(w::kSub1Ip)}}};
    if (o.with_sub2)
        links.push_back({{world::kMom, "eth2", with_prefix(w::kMomSub2Ip)}, {sub2, "eth0", with_prefix(w::kSub2Ip)}});
    if (o.with_direct)
        links.push_back(
            {{world::kPub, "eth1", with_prefix(w::kPubDirectIp)}, {sub1, "eth1", with_prefix(w::kSub1DirectIp)}});
    for (const auto& [a, b] : links) {
        if (Status st = t.link(a, b, o.queues); !st) return st;
        if (a.node == world::kPub)
            if (Status st = t.set_tx_checksum(a.node, a.ifname, false); !st) return st;
    }
    const std::pair<std::string, const char*> ipv6[][2] = {{{world::kPub, w::kPubIp6}, {world::kMom, w::kMomIp6}},
                                                           {{world::kMom, w::kMomSub1Ip6}, {sub1, w::kSub1Ip6}},
                                                           {{world::kMom, w::kMomSub2Ip6}, {sub2, w::kSub2Ip6}}};
    for (std::size_t line = 0; o.ipv6 && line < (o.with_sub2 ? 3 : 2); ++line)
        for (const auto& [node, ip] : ipv6[line]) {
            const std::string ifname = node == world::kMom ? "eth" + std::to_string(line) : "eth0";
            if (Status st = t.add_ipv6(node, ifname, std::string(ip) + "/64"); !st) return st;
        }
    if (Status st = t.add_route(world::kPub, w::kSub1Net, w::kMomIp); !st) return st;
    if (Status st = t.add_route(sub1, w::kPubNet, w::kMomSub1Ip); !st) return st;
    if (Status st = t.enable_forwarding(world::kMom); !st) return st;
    if (o.with_sub2) {
        if (Status st = t.add_route(world::kPub, w::kSub2Net, w::kMomIp); !st) return st;
        if (Status st = t.add_route(sub2, w::kPubNet, w::kMomSub2Ip); !st) return st;
    }
    return Status::ok();
}

}  // namespace

Result<Topology> one_legged(int subscribers, const BridgedOptions& options, const std::string& id) {
    return bridged(false, subscribers, options, id);
}

Result<Topology> two_legged(int subscribers, const BridgedOptions& options, const std::string& id) {
    return bridged(true, subscribers, options, id);
}

Result<Topology> point_to_point(const PointToPointOptions& options, const std::string& id) {
    Topology::remove_stale();
    Topology t(id);
    if (Status st = build_point_to_point(t, options); !st) return st.prefixed("building the point-to-point topology " + id);
    return t;
}

}  // namespace tempos::testkit
