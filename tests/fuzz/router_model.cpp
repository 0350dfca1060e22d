#include "router_model.hpp"

#include <algorithm>
#include <cstring>

#include "tempos/xdp_abi.h"

namespace tempos::fuzz {

namespace {

constexpr std::size_t kPartialLimit = 2048;  // docs/known-issues.md: the longest partial datagram completed

// The egress device of member m (0: the ingress one, XDP_TX) and its tag, the egress interface's own.
std::uint32_t egress_device(const ModelWorld& world, const Member& m, std::optional<ModelWorld::EgressVlan>& tag) {
    std::uint32_t device = 0;
    if (m.ifindex != 0 && m.ifindex != world.ingress_ifindex) {
        device = m.ifindex;
        if (const auto v = world.egress_vlans.find(m.ifindex); v != world.egress_vlans.end()) {
            tag = v->second;
            device = v->second.lower;
        }
        if (device == world.ingress_ifindex) device = 0;
    }
    return device;
}

// The routed frame with the egress tagging, which replaces whatever tags came in: the MACs, then the tag if any,
// then the rest from the ethertype on.
Bytes retagged(const Bytes& out, std::size_t l3, const std::optional<ModelWorld::EgressVlan>& tag) {
    Bytes tagged(out.begin(), out.begin() + 12);
    if (tag) {
        tagged.resize(16);
        tagged[12] = static_cast<std::uint8_t>(tag->tpid >> 8);
        tagged[13] = static_cast<std::uint8_t>(tag->tpid);
        tagged[14] = static_cast<std::uint8_t>(tag->vid >> 8);
        tagged[15] = static_cast<std::uint8_t>(tag->vid);
    }
    tagged.insert(tagged.end(), out.begin() + static_cast<std::ptrdiff_t>(l3 - 2), out.end());
    return tagged;
}

// The UDP checksum's update (model_common.hpp): a CHECKSUM_PARTIAL datagram's is completed in native mode only.
UdpCheck udp_mode(bool partial, bool generic) {
    return !partial ? UdpCheck::incremental : generic ? UdpCheck::partial_generic : UdpCheck::partial_native;
}

ModelResult passed(const Bytes& frame, std::uint32_t slot, int reason, std::string why) {
    return {Verdict::pass, frame, slot, Counter::passed, reason, -1, std::move(why)};
}

}  // namespace

ModelResult RouterModel::run(const Bytes& frame) {
    const std::uint32_t none = TEMPOS_NO_TOPIC_SLOT;
    const std::size_t len = frame.size();

    // Ethernet, then up to two VLAN tags; a frame cut inside L2 is "not IPv4".
    std::string why;
    const std::optional<L2> l2 = parse_l2(frame, why);
    if (!l2) return passed(frame, none, TEMPOS_PASS_NOT_IPV4, why);
    const std::size_t l3 = l2->l3;
    if (l2->ethertype == kEthIpv6) return run_ipv6(frame, l3);
    if (l2->ethertype != kEthIpv4) return passed(frame, none, TEMPOS_PASS_NOT_IPV4, "ethertype neither IPv4 nor IPv6");

    // IPv4: the whole header (options too) inside the frame, version 4, ihl >= 5, ihl*4 <= tot_len <= what the
    // frame holds (more is Ethernet padding).
    if (len < l3 + 20) return passed(frame, none, TEMPOS_PASS_MALFORMED, "IPv4 header cut");
    const std::size_t ihl = frame[l3] & 0x0f;
    if ((frame[l3] >> 4) != 4 || ihl < 5) return passed(frame, none, TEMPOS_PASS_MALFORMED, "version/ihl");
    const std::size_t ip_hlen = ihl * 4;
    if (len < l3 + ip_hlen) return passed(frame, none, TEMPOS_PASS_MALFORMED, "IPv4 options cut");
    const std::size_t tot_len = get16(frame, l3 + 2);
    if (tot_len > len - l3 || tot_len < ip_hlen) return passed(frame, none, TEMPOS_PASS_MALFORMED, "tot_len");
    // Choice: a fragment is a fragment whatever it carries (later fragments have no L4 header to judge).
    if ((get16(frame, l3 + 6) & 0x3fff) != 0) return passed(frame, none, TEMPOS_PASS_FRAGMENT, "fragment");
    if (frame[l3 + 9] != 17) return passed(frame, none, TEMPOS_PASS_NOT_OUR_PORT, "not UDP");

    // UDP: to the MoM's port, its header inside tot_len, udp.len equal to what tot_len leaves for it.
    // Choice (found by the fuzzer): the port is judged as soon as the frame holds the header, before the
    // lengths: a datagram to another port is not ours whatever its lengths say.
    const std::size_t l4 = l3 + ip_hlen;
    if (len < l4 + 8) return passed(frame, none, TEMPOS_PASS_MALFORMED, "UDP header cut by the frame");
    if (get16(frame, l4 + 2) != world_.mom_port) return passed(frame, none, TEMPOS_PASS_NOT_OUR_PORT, "other port");
    if (tot_len < ip_hlen + 8) return passed(frame, none, TEMPOS_PASS_MALFORMED, "UDP header cut by tot_len");
    const std::size_t udp_len = get16(frame, l4 + 4);
    if (udp_len != tot_len - ip_hlen) return passed(frame, none, TEMPOS_PASS_MALFORMED, "udp.len");
    if (udp_len == 8) return passed(frame, none, TEMPOS_PASS_NO_PAYLOAD, "no payload");

    // Only the MoM's own frames (docs/config.md#listen): destination MAC and IPv4 both local.
    const Ipv4Addr ip_src = addr_at(frame, l3 + 12), ip_dst = addr_at(frame, l3 + 16);
    if (!world_.local_macs.count(mac_at(frame, 0)) || !world_.local_ipv4.count(ip_dst))
        return passed(frame, none, TEMPOS_PASS_NOT_FOR_US, "not addressed to this MoM");

    const std::uint8_t topic = frame[l4 + 8];
    const std::uint8_t ttl = frame[l3 + 8];
    const std::uint16_t udp_check = get16(frame, l4 + 6);
    const bool partial = udp_check != 0 && udp_check == pseudo_header_sum(ip_src, ip_dst, static_cast<std::uint16_t>(udp_len));

    // A strict topic with a route of its own. Choice (found by the fuzzer): TTL first, then the route's sanity.
    const std::vector<Member>& members = world_.routes[topic];
    if (!members.empty() || world_.zero_member_routes.count(topic)) {
        if (world_.spent_topics.count(topic))
            return {Verdict::drop, frame, topic, Counter::policed, TEMPOS_POLICE_TOPIC_RATE, -1, "strict topic limit"};
        if (ttl <= 1) return passed(frame, topic, TEMPOS_PASS_TTL, "TTL <= 1");
        if (members.empty()) return {Verdict::pass, frame, topic, Counter::aborted, 0, -1, "route with count 0"};
        const std::uint32_t index = cursor_[topic] % members.size();
        Member m = members[index];
        // The router does not turn an IPv4 event into an IPv6 one (docs/ipv6.md).
        if (m.ip6) return passed(frame, topic, TEMPOS_PASS_FAMILY, "IPv4 event, IPv6 member");
        const auto answer = m.mac ? world_.fib.end() : world_.fib.find(m.ip);
        std::uint32_t device = 0;
        std::optional<ModelWorld::EgressVlan> tag;
        if (auto pass = resolve(topic, m, answer == world_.fib.end() ? nullptr : &answer->second, tot_len, partial,
                                udp_len, device, tag))
            return passed(frame, topic, pass->reason, pass->why);
        const bool tx = device == 0;
        ++cursor_[topic];

        Bytes out = frame;
        std::memcpy(&out[0], m.mac->data(), 6);
        std::memcpy(&out[6], m.src_mac.data(), 6);
        const Ipv4Addr new_src = world_.mom_ip == Ipv4Addr{0, 0, 0, 0} ? ip_dst : world_.mom_ip;
        std::memcpy(&out[l3 + 12], new_src.data(), 4);
        std::memcpy(&out[l3 + 16], m.ip.data(), 4);
        out[l3 + 8] = static_cast<std::uint8_t>(ttl - 1);
        // IPv4 checksum: updated incrementally, so a wrong one stays wrong (the receiver's stack judges it).
        put16(out, l3 + 10, updated_checksum(get16(frame, l3 + 10), frame, out, {{l3 + 8, 2}, {l3 + 12, 8}}));

        const std::uint16_t old_port = get16(frame, l4 + 2);
        put16(out, l4 + 2, m.port);
        put16(out, l4 + 6,
              rewritten_udp_check(out, l4, udp_len, udp_check, udp_mode(partial, world_.generic), ip_src, new_src,
                                  ip_dst, m.ip, old_port, m.port));
        const Verdict v = tx ? Verdict::tx : Verdict::redirect;
        return {v, retagged(out, l3, tag), topic, Counter::redirected, 0, static_cast<int>(index),
                tag ? "routed, tagged" : "routed"};
    }
    if (world_.fanout_topics.count(topic)) return passed(frame, topic, TEMPOS_PASS_FANOUT, "fan-out hand-over");
    if (world_.strict_topics.count(topic)) return passed(frame, topic, TEMPOS_PASS_NOT_STRICT, "strict, socket path");

    // Best-effort (or unknown) topic: the publisher's limit first, then the topic's (docs/isolation.md).
    if (world_.spent_publishers.count(ip_src))
        return {Verdict::drop, frame, topic, Counter::policed, TEMPOS_POLICE_PUBLISHER_RATE, -1, "publisher limit"};
    if (world_.spent_topics.count(topic))
        return {Verdict::drop, frame, topic, Counter::policed, TEMPOS_POLICE_TOPIC_RATE, -1, "topic limit"};
    if (!world_.best_effort_cpumap) return passed(frame, topic, TEMPOS_PASS_NOT_STRICT, "best-effort, no cpumap");
    Bytes out = frame;
    if (partial) put16(out, l4 + 6, 0);  // the skb after the cpumap is CHECKSUM_NONE
    return {Verdict::redirect, std::move(out), topic, Counter::best_effort_offered, 0, -1, "best-effort to the cpumap"};
}

// The steps both families share once a member is chosen (docs/ipv6.md: "as for IPv4"): the FIB for a member
// without a MAC (`answer`: the FIB's entry for its address, null for none), then the egress device and its tag (the
// egress interface's: a VLAN sub-interface's lower device, one tag; never the ingress tags), back out of the
// ingress device with XDP_TX, else through egress_ports within the device's MTU.
std::optional<ModelResult> RouterModel::resolve(std::uint8_t topic, Member& m, const FibAnswer* answer,
                                                std::size_t ip_len, bool partial, std::size_t udp_len,
                                                std::uint32_t& device,
                                                std::optional<ModelWorld::EgressVlan>& tag) const {
    const Bytes none;
    if (!m.mac) {
        // The kernel resolves the next hop: no route, a datagram over the route's MTU or no neighbour passes the
        // frame up.
        const std::uint32_t lookup = m.ifindex != 0 ? m.ifindex : world_.ingress_ifindex;
        if (answer == nullptr || answer->lookup_ifindex != lookup)
            return passed(none, topic, TEMPOS_PASS_FIB, "member without MAC, no FIB answer");
        if (ip_len > answer->mtu) return passed(none, topic, TEMPOS_PASS_TOO_BIG, "member without MAC, over the route's MTU");
        if (!answer->mac) return passed(none, topic, TEMPOS_PASS_FIB, "member without MAC, no neighbour");
        m.mac = answer->mac;
        m.src_mac = answer->src_mac;
        m.ifindex = answer->ifindex;
    }
    device = egress_device(world_, m, tag);
    if (partial && !world_.generic && udp_len > kPartialLimit)
        return passed(none, topic, TEMPOS_PASS_PARTIAL_CSUM, "partial checksum, datagram too long to complete");
    if (device != 0 && !world_.egress_ports.count(device))
        return passed(none, topic, TEMPOS_PASS_NO_EGRESS, "egress not in egress_ports");
    if (device != 0 && ip_len > world_.device_mtu.at(device))
        return passed(none, topic, TEMPOS_PASS_TOO_BIG, "over the egress device's MTU");
    return std::nullopt;
}

// IPv6 (docs/ipv6.md): the same steps as IPv4 where the documents say "as IPv4", with the rules of the IPv6
// header and its extension headers (model_common.hpp).
ModelResult RouterModel::run_ipv6(const Bytes& frame, std::size_t l3) {
    const std::uint32_t none = TEMPOS_NO_TOPIC_SLOT;
    int reason = 0;
    std::string why;
    const std::optional<Ipv6Event> ev = parse_ipv6(frame, l3, world_.mom_port, reason, why);
    if (!ev) return passed(frame, none, reason, why);
    if (!world_.local_macs.count(mac_at(frame, 0)) || !world_.local_ipv6.count(ev->dst))
        return passed(frame, none, TEMPOS_PASS_NOT_FOR_US, "not addressed to this MoM");

    const std::uint8_t topic = ev->topic;
    const bool partial = ev->udp_check == pseudo_header_sum(ev->src, ev->dst, static_cast<std::uint16_t>(ev->udp_len));
    // Best-effort (or unknown) topics: the publisher limit first, keyed by the full source address (an IPv4-mapped
    // ::ffff:a.b.c.d is the IPv4 source a.b.c.d, docs/isolation.md); then every topic its own limit.
    if (!world_.strict_topics.count(topic)) {
        const Ipv6Addr& src = ev->src;
        const bool mapped = std::all_of(src.begin(), src.begin() + 10, [](std::uint8_t b) { return b == 0; }) &&
                            src[10] == 0xff && src[11] == 0xff;
        if (world_.spent_publishers6.count(src) ||
            (mapped && world_.spent_publishers.count(Ipv4Addr{src[12], src[13], src[14], src[15]})))
            return {Verdict::drop, frame, topic, Counter::policed, TEMPOS_POLICE_PUBLISHER_RATE, -1, "publisher limit"};
    }
    if (world_.spent_topics.count(topic))
        return {Verdict::drop, frame, topic, Counter::policed, TEMPOS_POLICE_TOPIC_RATE, -1, "topic limit"};

    const std::vector<Member>& members = world_.routes[topic];
    if (members.empty() && !world_.zero_member_routes.count(topic)) {
        if (world_.fanout_topics.count(topic))
            return passed(frame, topic, TEMPOS_PASS_FANOUT, "fan-out hand-over");
        if (world_.strict_topics.count(topic)) return passed(frame, topic, TEMPOS_PASS_NOT_STRICT, "strict, socket path");
        if (!world_.best_effort_cpumap) return passed(frame, topic, TEMPOS_PASS_NOT_STRICT, "best-effort, no cpumap");
        // The skb after the cpumap is CHECKSUM_NONE and IPv6 has no "no checksum": a partial datagram's checksum is
        // completed in native mode (too long: passed up), kept in generic mode (the skb itself stays partial).
        if (partial && !world_.generic && ev->udp_len > kPartialLimit)
            return passed(frame, topic, TEMPOS_PASS_PARTIAL_CSUM, "best-effort, partial checksum too long to complete");
        Bytes out = frame;
        if (partial && !world_.generic) {
            const std::uint16_t port = get16(frame, ev->l4 + 2);
            put16(out, ev->l4 + 6,
                  rewritten_udp_check(out, ev->l4, ev->udp_len, ev->udp_check, UdpCheck::partial_native, ev->src,
                                      ev->src, ev->dst, ev->dst, port, port));
        }
        return {Verdict::redirect, std::move(out), topic, Counter::best_effort_offered, 0, -1,
                "IPv6 best-effort to the cpumap"};
    }
    if (ev->hop_limit <= 1) return passed(frame, topic, TEMPOS_PASS_TTL, "hop limit <= 1");
    if (members.empty()) return {Verdict::pass, frame, topic, Counter::aborted, 0, -1, "route with count 0"};
    const std::uint32_t index = cursor_[topic] % members.size();
    Member m = members[index];
    if (!m.ip6) return passed(frame, topic, TEMPOS_PASS_FAMILY, "IPv6 event, IPv4 member");
    const auto answer = m.mac ? world_.fib6.end() : world_.fib6.find(*m.ip6);
    std::uint32_t device = 0;
    std::optional<ModelWorld::EgressVlan> tag;
    if (auto pass = resolve(topic, m, answer == world_.fib6.end() ? nullptr : &answer->second, ev->ip_len(), partial,
                            ev->udp_len, device, tag))
        return passed(frame, topic, pass->reason, pass->why);
    ++cursor_[topic];

    const Ipv6Addr new_src = world_.mom_ip6 == Ipv6Addr{} ? ev->dst : world_.mom_ip6;
    const Bytes out = rewrite_ipv6(frame, *ev, *m.mac, m.src_mac, new_src, *m.ip6, m.port, udp_mode(partial, world_.generic));
    return {device == 0 ? Verdict::tx : Verdict::redirect, retagged(out, l3, tag), topic, Counter::redirected, 0,
            static_cast<int>(index), tag ? "IPv6 routed, tagged" : "IPv6 routed"};
}

}  // namespace tempos::fuzz
