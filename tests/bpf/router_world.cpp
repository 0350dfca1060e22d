#include "router_world.hpp"

#include <bpf/bpf.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "map_ops.hpp"
#include "tempos/unique_fd.hpp"
#include "topology/interface.hpp"
#include "topology/world.hpp"

namespace tempos::test::world {

namespace {
tempos_endpoint with_mac(const Subscriber& s, std::uint32_t ifindex = 0, const MacAddr& src = kMomMac) {
    return endpoint(s.ip, s.port, s.mac, src, ifindex);
}

tempos_route route_of(std::initializer_list<tempos_endpoint> members) {
    tempos_route route{};
    for (const tempos_endpoint& m : members) route.subs[route.count++] = m;
    return route;
}

// Publishes an inner map by hand, the way only a buggy writer would: count 0.
std::string install_bad_route(LoadedRouter& router, std::uint8_t topic) {
    const int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bad_route", 4, sizeof(tempos_route), 1, nullptr);
    if (inner < 0) return std::string("bpf_map_create: ") + std::strerror(errno);
    tempos_route bad{};
    bad.subs[0] = with_mac(kSubA);
    const std::uint32_t zero = 0, key = topic;
    std::string err;
    if (bpf_map_update_elem(inner, &zero, &bad, BPF_ANY) != 0 ||
        bpf_map_update_elem(router.topic_routes_fd(), &key, &inner, BPF_ANY) != 0)
        err = std::string("bad route: ") + std::strerror(errno);
    close(inner);
    return err;
}

// What the adapter's FanoutTable does for a fanned-out topic: an inner map in fanout_routes (the router only looks
// the topic up there, so the members do not matter).
std::string install_fanout_topic(LoadedRouter& router, std::uint8_t topic) {
    tempos::UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "fanout_topic", 4, sizeof(tempos_fanout_member),
                                          TEMPOS_FANOUT_SLOTS, nullptr));
    if (inner.get() < 0) return std::string("bpf_map_create: ") + std::strerror(errno);
    const tempos::Status st = tempos::xdp::publish_inner_map(router.fanout_routes_fd(), topic, inner.get(), "fan-out");
    return st ? std::string() : st.message();
}
}  // namespace

std::string install_standard_routes(LoadedRouter& router) {
    const Result<std::uint32_t> veth_index = testkit::ifindex_of(testkit::world::test_netns::kVethA);
    if (!veth_index) return veth_index.message();
    const std::uint32_t veth = *veth_index;
    if (bpf_map_update_elem(router.egress_ports_fd(), &veth, &veth, BPF_ANY) != 0)
        return std::string("egress_ports update: ") + std::strerror(errno);

    auto& rt = router.routes();
    struct Entry {
        std::uint8_t topic;
        tempos_route route;
    };
    const Entry entries[] = {
        {kTopicSingle, route_of({with_mac(kSubA)})},
        {kTopicThree, route_of({with_mac(kSubA), with_mac(kSubB), with_mac(kSubC)})},
        {kTopicFib, route_of({endpoint(kUnroutedIp, 7000, std::nullopt, {}, 0)})},
        {kTopicOtherNic, route_of({with_mac(kSubFar, veth, kOtherNicMac)})},
        {kTopicNoEgress, route_of({with_mac(kSubFar, kMissingIfindex, kOtherNicMac)})},
        {kTopicIngressNic, route_of({with_mac(kSubA, kLoopbackIfindex)})},
        {kTopicOnes, route_of({with_mac(kSubOnes)})},
    };
    for (const Entry& e : entries)
        if (tempos::Status st = rt.set(e.topic, e.route); !st) return st.message();
    if (std::string error = install_fanout_topic(router, kTopicFanout); !error.empty()) return error;
    return install_bad_route(router, kTopicBadRoute);
}

PacketBuilder event(std::uint8_t topic, std::uint16_t mom_port) {
    PacketBuilder b;
    b.eth(kMomMac, kPublisherMac)
        .ipv4(kPublisherIp, kMomIp)
        .ttl(64)
        .udp(kPublisherPort, mom_port)
        .payload({topic, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    return b;
}

PacketBuilder forwarded(PacketBuilder event, const Subscriber& sub, const Ipv4Addr& new_src, const MacAddr& src_mac) {
    event.forwarded(sub.mac, src_mac, new_src, sub.ip, sub.port);
    return event;
}

}  // namespace tempos::test::world
