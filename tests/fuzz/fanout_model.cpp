#include "fanout_model.hpp"

#include <cstring>

namespace tempos::fuzz {

namespace {

// The frame's fields as the parser found them, either family.
struct Event {
    bool ipv6 = false;
    std::size_t l3 = 0, l4 = 0, ip_len = 0;  // ip_len: the IP datagram's bytes (IPv6: 40 + payload length)
    std::uint8_t topic = 0, hop_limit = 0;
    Ipv6Event v6;  // IPv6: the router model's parse of it
};

// The router's parsing rules (docs/fanout.md: "exactly the router's rules"; IPv6: model_common.hpp). Every frame
// they refuse is left to the stack uncounted (the router counts it), so only "an event or not" matters here, not
// the reason.
std::optional<Event> parse(const Bytes& frame, std::uint16_t mom_port, std::string& why) {
    const std::optional<L2> l2 = parse_l2(frame, why);
    if (!l2) return std::nullopt;
    const std::size_t len = frame.size(), l3 = l2->l3;
    if (l2->ethertype == kEthIpv6) {
        int reason = 0;
        const std::optional<Ipv6Event> v6 = parse_ipv6(frame, l3, mom_port, reason, why);
        if (!v6) return std::nullopt;
        return Event{true, l3, v6->l4, v6->ip_len(), v6->topic, v6->hop_limit, *v6};
    }
    if (l2->ethertype != kEthIpv4) return why = "neither IPv4 nor IPv6", std::nullopt;
    if (len < l3 + 20) return why = "IPv4 header cut", std::nullopt;
    const std::size_t ip_hlen = (frame[l3] & 0x0f) * 4u;
    if ((frame[l3] >> 4) != 4 || ip_hlen < 20) return why = "version/ihl", std::nullopt;
    const std::size_t tot_len = get16(frame, l3 + 2);
    if (tot_len < ip_hlen || l3 + tot_len > len) return why = "tot_len", std::nullopt;
    if ((get16(frame, l3 + 6) & 0x3fff) != 0) return why = "fragment", std::nullopt;
    if (frame[l3 + 9] != 17) return why = "not UDP", std::nullopt;
    const std::size_t l4 = l3 + ip_hlen;
    if (len < l4 + 8) return why = "UDP header cut", std::nullopt;
    if (get16(frame, l4 + 2) != mom_port) return why = "other port", std::nullopt;
    const std::size_t udp_len = get16(frame, l4 + 4);
    if (udp_len != tot_len - ip_hlen || udp_len < 8) return why = "udp.len", std::nullopt;
    if (udp_len == 8) return why = "no payload", std::nullopt;
    return Event{false, l3, l4, tot_len, frame[l4 + 8], frame[l3 + 8], {}};
}

// Where one group's copy goes: the member's MACs and egress interface.
struct NextHop {
    MacAddr mac, src_mac;
    std::uint32_t ifindex;
};
enum class Resolution { resolved, unresolved, too_big, family };

}  // namespace

FanoutResult FanoutModel::run(const Bytes& frame) {
    FanoutResult r;
    r.output = frame;
    const auto ev = parse(frame, world_.mom_port, r.why);
    if (!ev) return r;
    // Only the MoM's own frames (docs/config.md#listen): destination MAC and address both local.
    const Ipv4Addr ip_dst = ev->ipv6 ? Ipv4Addr{} : addr_at(frame, ev->l3 + 16);
    const bool local_address = ev->ipv6 ? world_.local_ipv6.count(ev->v6.dst) != 0 : world_.local_ipv4.count(ip_dst) != 0;
    if (!world_.local_macs.count(mac_at(frame, 0)) || !local_address) {
        r.why = "not addressed to this MoM";
        return r;
    }
    const auto route = world_.routes.find(ev->topic);
    const bool bad = world_.bad_routes.count(ev->topic) != 0;
    if (route == world_.routes.end() && !bad) {
        r.why = "not a fan-out topic";
        return r;
    }
    r.topic = ev->topic;
    if (ev->hop_limit <= 1) {
        ++r.topic_counters.passed_ttl;
        r.why = "TTL (hop limit) <= 1";
        return r;
    }
    if (world_.gso_segs > 1) {
        ++r.topic_counters.passed_gso;
        r.why = "GSO aggregate";
        return r;
    }
    if (bad) {
        ++r.topic_counters.aborted;
        r.why = "inconsistent route";
        return r;
    }
    const std::vector<std::vector<Member>>& groups = route->second;

    const auto resolve = [&](const Member& m, NextHop& hop) {
        // Never turned into the other family (docs/ipv6.md). Choice: judged before the next hop.
        if (m.ip6.has_value() != ev->ipv6) return Resolution::family;
        if (m.mac) {
            hop = {*m.mac, m.src_mac, m.ifindex != 0 ? m.ifindex : world_.ingress_ifindex};
            return Resolution::resolved;
        }
        const std::uint32_t lookup = m.ifindex != 0 ? m.ifindex : world_.ingress_ifindex;
        const FibAnswer* answer = nullptr;
        if (ev->ipv6) {
            if (const auto a = world_.fib6.find(*m.ip6); a != world_.fib6.end()) answer = &a->second;
        } else if (const auto a = world_.fib.find(m.ip); a != world_.fib.end()) {
            answer = &a->second;
        }
        if (answer == nullptr || answer->lookup_ifindex != lookup) return Resolution::unresolved;
        // The FIB checks the route's MTU before the neighbour (docs/fuzzing.md, as for the router).
        if (ev->ip_len > answer->mtu) return Resolution::too_big;
        if (!answer->mac) return Resolution::unresolved;
        hop = {*answer->mac, answer->src_mac, answer->ifindex};
        return Resolution::resolved;
    };
    const auto member_of = [&](std::size_t g) -> const Member& {
        return groups[g][cursors_[{ev->topic, g}] % groups[g].size()];
    };

    // Pass 1: every group must resolve, else the whole event goes to the socket path untouched. Choice: the
    // first group that does not resolve is the one counted (the docs say "the group's").
    for (std::size_t g = 0; g < groups.size(); ++g) {
        NextHop hop;
        const Resolution res = resolve(member_of(g), hop);
        if (res == Resolution::unresolved) {
            ++r.group_counters[g].unresolved;
            ++r.topic_counters.passed_unresolved;
            r.why = "group " + std::to_string(g) + " unresolved";
            return r;
        }
        if (res == Resolution::too_big) {
            ++r.group_counters[g].too_big;
            ++r.topic_counters.passed_too_big;
            r.why = "group " + std::to_string(g) + " over its route's MTU";
            return r;
        }
        if (res == Resolution::family) {
            ++r.topic_counters.passed_family;
            r.why = "group " + std::to_string(g) + " of the other IP family";
            return r;
        }
    }

    // Pass 2: the ingress tags go (every copy leaves with its egress interface's tagging: untagged toward these
    // devices), then the shared fields, then per group its member, a clone for every group but the last, whose
    // copy is the original redirected.
    Bytes out(frame.begin(), frame.begin() + 12);
    out.insert(out.end(), frame.begin() + static_cast<std::ptrdiff_t>(ev->l3 - 2), frame.end());
    const std::size_t l3 = 14, l4 = ev->l4 - (ev->l3 - l3);
    const std::size_t ip_check = l3 + 10, udp_check = l4 + 6;
    const bool udp_none = get16(out, udp_check) == 0;  // no UDP checksum: stays 0
    // One rewrite of `len` bytes at `at` with the checksums that cover it: the IPv4 header's for the header's
    // fields, the UDP one (pseudo-header and port) for addresses and port. A computed UDP 0 is sent as 0xffff.
    const auto rewrite = [&](std::size_t at, const Bytes& value, bool ip, bool udp) {
        Bytes before = out;
        std::memcpy(&out[at], value.data(), value.size());
        if (ip) put16(out, ip_check, updated_checksum(get16(out, ip_check), before, out, {{at, value.size()}}));
        if (udp && !udp_none) {
            const std::uint16_t check = updated_checksum(get16(out, udp_check), before, out, {{at, value.size()}});
            put16(out, udp_check, check == 0 ? 0xffff : check);
        }
    };
    const Ipv4Addr new_src = world_.mom_ip == Ipv4Addr{0, 0, 0, 0} ? ip_dst : world_.mom_ip;
    if (!ev->ipv6) {
        rewrite(l3 + 8, {static_cast<std::uint8_t>(frame[ev->l3 + 8] - 1), frame[ev->l3 + 9]}, true, false);
        rewrite(l3 + 12, Bytes(new_src.begin(), new_src.end()), true, true);
    }
    // IPv6: every copy is the router's IPv6 rewrite of the untagged event toward its member (the program's
    // successive updates come to the same bytes), with the checksum updated incrementally (a test run's skb is
    // never CHECKSUM_PARTIAL).
    const Bytes untagged = out;
    Ipv6Event v6 = ev->v6;
    v6.l3 = l3;
    v6.l4 = l4;
    const Ipv6Addr new_src6 = world_.mom_ip6 == Ipv6Addr{} ? ev->v6.dst : world_.mom_ip6;

    for (std::size_t g = 0; g < groups.size(); ++g) {
        const Member m = member_of(g);
        auto& cursor = cursors_[{ev->topic, g}];
        cursor = (cursor + 1) % groups[g].size();
        NextHop hop;
        resolve(m, hop);  // as in pass 1: the world does not change between the passes
        if (ev->ipv6) {
            out = rewrite_ipv6(untagged, v6, hop.mac, hop.src_mac, new_src6, *m.ip6, m.port, UdpCheck::incremental);
        } else {
            std::memcpy(&out[0], hop.mac.data(), 6);
            std::memcpy(&out[6], hop.src_mac.data(), 6);
            rewrite(l3 + 16, Bytes(m.ip.begin(), m.ip.end()), true, true);
            rewrite(l4 + 2, {static_cast<std::uint8_t>(m.port >> 8), static_cast<std::uint8_t>(m.port)}, false, true);
        }
        tempos_fanout_group_counters& c = r.group_counters[g];
        if (g + 1 == groups.size()) {
            ++c.copies;
            c.bytes += out.size();
            break;
        }
        const auto device = world_.devices.find(hop.ifindex);
        if (device == world_.devices.end() || out.size() > device->second) {
            ++c.clone_errors;  // this group misses this event; the next groups' rewrites start from this one
            continue;
        }
        ++c.copies;
        c.bytes += out.size();
        r.clones.push_back(out);
    }
    ++r.topic_counters.events;
    r.verdict = TcVerdict::redirect;
    r.output = std::move(out);
    r.why = "fanned out to " + std::to_string(groups.size()) + " groups";
    return r;
}

}  // namespace tempos::fuzz
