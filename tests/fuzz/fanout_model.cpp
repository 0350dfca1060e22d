#include "fanout_model.hpp"

#include <cstring>

namespace tempos::fuzz {

namespace {

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kVlanQ = 0x8100;
constexpr std::uint16_t kVlanAd = 0x88a8;

std::uint16_t get16(const Bytes& b, std::size_t at) { return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]); }
void put16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}
Ipv4Addr addr_at(const Bytes& b, std::size_t at) { return {b[at], b[at + 1], b[at + 2], b[at + 3]}; }
MacAddr mac_at(const Bytes& b, std::size_t at) { return {b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]}; }

// A checksum field after the bytes at `at` (2 or 4) change from `before` to what `after` holds there, RFC 1624
// eqn. 3 over 16-bit words: HC' = ~(~HC + ~m + m').
std::uint16_t updated(std::uint16_t hc, const Bytes& before, const Bytes& after, std::size_t at, std::size_t len) {
    std::uint32_t sum = static_cast<std::uint16_t>(~hc);
    for (std::size_t i = 0; i < len; i += 2) {
        sum += static_cast<std::uint16_t>(~get16(before, at + i));
        sum += get16(after, at + i);
    }
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

// The frame's fields as the parser found them.
struct Event {
    std::size_t l3 = 0, l4 = 0, tot_len = 0;
    std::uint8_t topic = 0;
};

// The router's parsing rules (docs/fanout.md: "exactly the router's rules"). Every frame they refuse is left to
// the stack uncounted (the router counts it), so only "an event or not" matters here, not the reason.
std::optional<Event> parse(const Bytes& frame, std::uint16_t mom_port, std::string& why) {
    const std::size_t len = frame.size();
    std::size_t l3 = 14;
    if (len < l3) return why = "shorter than Ethernet", std::nullopt;
    std::uint16_t ethertype = get16(frame, 12);
    for (int tags = 0; tags < 2 && (ethertype == kVlanQ || ethertype == kVlanAd); ++tags) {
        if (len < l3 + 4) return why = "cut inside a VLAN tag", std::nullopt;
        ethertype = get16(frame, l3 + 2);
        l3 += 4;
    }
    if (ethertype != kEthIpv4) return why = "not IPv4", std::nullopt;
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
    return Event{l3, l4, tot_len, frame[l4 + 8]};
}

// Where one group's copy goes: the member's MACs and egress interface.
struct NextHop {
    MacAddr mac, src_mac;
    std::uint32_t ifindex;
};
enum class Resolution { resolved, unresolved, too_big };

}  // namespace

FanoutResult FanoutModel::run(const Bytes& frame) {
    FanoutResult r;
    r.output = frame;
    const auto ev = parse(frame, world_.mom_port, r.why);
    if (!ev) return r;
    // Only the MoM's own frames (docs/config.md#listen): destination MAC and IPv4 both local.
    const Ipv4Addr ip_dst = addr_at(frame, ev->l3 + 16);
    if (!world_.local_macs.count(mac_at(frame, 0)) || !world_.local_ipv4.count(ip_dst)) {
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
    if (frame[ev->l3 + 8] <= 1) {
        ++r.topic_counters.passed_ttl;
        r.why = "TTL <= 1";
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
    const std::vector<std::vector<FanoutMember>>& groups = route->second;

    const auto resolve = [&](const FanoutMember& m, NextHop& hop) {
        if (m.mac) {
            hop = {*m.mac, m.src_mac, m.ifindex != 0 ? m.ifindex : world_.ingress_ifindex};
            return Resolution::resolved;
        }
        const std::uint32_t lookup = m.ifindex != 0 ? m.ifindex : world_.ingress_ifindex;
        const auto answer = world_.fib.find(m.ip);
        if (answer == world_.fib.end() || answer->second.lookup_ifindex != lookup) return Resolution::unresolved;
        // The FIB checks the route's MTU before the neighbour (docs/fuzzing.md, as for the router).
        if (ev->tot_len > answer->second.mtu) return Resolution::too_big;
        if (!answer->second.mac) return Resolution::unresolved;
        hop = {*answer->second.mac, answer->second.src_mac, answer->second.ifindex};
        return Resolution::resolved;
    };
    const auto member_of = [&](std::size_t g) -> const FanoutMember& {
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
        if (ip) put16(out, ip_check, updated(get16(out, ip_check), before, out, at, value.size()));
        if (udp && !udp_none) {
            const std::uint16_t check = updated(get16(out, udp_check), before, out, at, value.size());
            put16(out, udp_check, check == 0 ? 0xffff : check);
        }
    };
    rewrite(l3 + 8, {static_cast<std::uint8_t>(frame[ev->l3 + 8] - 1), frame[ev->l3 + 9]}, true, false);
    const Ipv4Addr new_src = world_.mom_ip == Ipv4Addr{0, 0, 0, 0} ? ip_dst : world_.mom_ip;
    rewrite(l3 + 12, Bytes(new_src.begin(), new_src.end()), true, true);

    for (std::size_t g = 0; g < groups.size(); ++g) {
        const FanoutMember m = member_of(g);
        auto& cursor = cursors_[{ev->topic, g}];
        cursor = (cursor + 1) % groups[g].size();
        NextHop hop;
        resolve(m, hop);  // as in pass 1: the world does not change between the passes
        std::memcpy(&out[0], hop.mac.data(), 6);
        std::memcpy(&out[6], hop.src_mac.data(), 6);
        rewrite(l3 + 16, Bytes(m.ip.begin(), m.ip.end()), true, true);
        rewrite(l4 + 2, {static_cast<std::uint8_t>(m.port >> 8), static_cast<std::uint8_t>(m.port)}, false, true);
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
