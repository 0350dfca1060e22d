#include "model_common.hpp"

#include <cstring>

#include "tempos/xdp_abi.h"

namespace tempos::fuzz {

namespace {

constexpr std::uint16_t kVlanQ = 0x8100;
constexpr std::uint16_t kVlanAd = 0x88a8;
constexpr std::size_t kMaxVlanTags = 2;           // QinQ (docs: "802.1ad + 802.1Q tags")
constexpr std::size_t kMaxSkippedExtHeaders = 4;  // docs/ipv6.md

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over 16-bit words.
struct Incremental {
    std::uint32_t sum;
    explicit Incremental(std::uint16_t hc) : sum(static_cast<std::uint16_t>(~hc)) {}
    void change(std::uint16_t old_word, std::uint16_t new_word) {
        sum += static_cast<std::uint16_t>(~old_word);
        sum += new_word;
    }
    template <std::size_t N>
    void change(const std::array<std::uint8_t, N>& from, const std::array<std::uint8_t, N>& to) {
        for (std::size_t i = 0; i < N; i += 2)
            change(static_cast<std::uint16_t>(from[i] << 8 | from[i + 1]), static_cast<std::uint16_t>(to[i] << 8 | to[i + 1]));
    }
    std::uint16_t result() const { return testkit::internet_checksum(nullptr, 0, sum); }
};

template <typename Addr>
std::uint16_t pseudo_sum(const Addr& src, const Addr& dst, std::uint16_t udp_len) {
    std::uint8_t addresses[2 * sizeof(Addr)];
    std::memcpy(addresses, src.data(), src.size());
    std::memcpy(addresses + src.size(), dst.data(), dst.size());
    return static_cast<std::uint16_t>(~testkit::internet_checksum(addresses, sizeof(addresses), 17u + udp_len));
}

template <typename Addr>
std::uint16_t udp_check_after(const Bytes& out, std::size_t l4, std::size_t udp_len, std::uint16_t udp_check,
                              UdpCheck mode, const Addr& old_src, const Addr& new_src, const Addr& old_dst,
                              const Addr& new_dst, std::uint16_t old_port, std::uint16_t new_port) {
    const auto len = static_cast<std::uint16_t>(udp_len);
    std::uint16_t check;
    if (mode == UdpCheck::partial_generic) {
        check = pseudo_sum(new_src, new_dst, len);  // the kernel completes it
    } else if (mode == UdpCheck::partial_native) {
        Bytes datagram(out.begin() + static_cast<std::ptrdiff_t>(l4), out.begin() + static_cast<std::ptrdiff_t>(l4 + udp_len));
        put16(datagram, 6, 0);  // the complete checksum: the new pseudo-header and the whole datagram
        check = testkit::internet_checksum(datagram.data(), udp_len, pseudo_sum(new_src, new_dst, len));
    } else if (udp_check == 0) {
        return 0;  // IPv4 "no checksum" stays 0 (IPv6 never has it: the parse passes such a datagram)
    } else {
        Incremental inc(udp_check);
        inc.change(old_src, new_src);
        inc.change(old_dst, new_dst);
        inc.change(old_port, new_port);
        check = inc.result();
    }
    return check == 0 ? 0xffff : check;  // 0 would mean "no checksum"
}

}  // namespace

std::uint16_t get16(const Bytes& b, std::size_t at) { return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]); }
void put16(Bytes& b, std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}
Ipv4Addr addr_at(const Bytes& b, std::size_t at) { return {b[at], b[at + 1], b[at + 2], b[at + 3]}; }
Ipv6Addr addr6_at(const Bytes& b, std::size_t at) {
    Ipv6Addr a;
    std::memcpy(a.data(), &b[at], 16);
    return a;
}
MacAddr mac_at(const Bytes& b, std::size_t at) { return {b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]}; }

std::uint16_t updated_checksum(std::uint16_t hc, const Bytes& before, const Bytes& after,
                               std::initializer_list<std::pair<std::size_t, std::size_t>> ranges) {
    Incremental inc(hc);
    for (const auto& [at, len] : ranges)
        for (std::size_t i = 0; i < len; i += 2) inc.change(get16(before, at + i), get16(after, at + i));
    return inc.result();
}

std::uint16_t pseudo_header_sum(const Ipv4Addr& src, const Ipv4Addr& dst, std::uint16_t udp_len) {
    return pseudo_sum(src, dst, udp_len);
}
std::uint16_t pseudo_header_sum(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint16_t udp_len) {
    return pseudo_sum(src, dst, udp_len);
}

std::optional<L2> parse_l2(const Bytes& frame, std::string& why) {
    const std::size_t len = frame.size();
    if (len < 14) return why = "shorter than Ethernet", std::nullopt;
    L2 l2{14, get16(frame, 12)};
    for (std::size_t tags = 0; tags < kMaxVlanTags && (l2.ethertype == kVlanQ || l2.ethertype == kVlanAd); ++tags) {
        if (len < l2.l3 + 4) return why = "cut inside a VLAN tag", std::nullopt;
        l2.ethertype = get16(frame, l2.l3 + 2);
        l2.l3 += 4;
    }
    return l2;
}

std::optional<Ipv6Event> parse_ipv6(const Bytes& frame, std::size_t l3, std::uint16_t mom_port, int& reason,
                                    std::string& why) {
    const auto refuse = [&](int r, const char* rule) {
        reason = r;
        why = rule;
        return std::nullopt;
    };
    const std::size_t len = frame.size();
    if (len < l3 + 40) return refuse(TEMPOS_PASS_MALFORMED, "IPv6 header cut");
    if ((frame[l3] >> 4) != 6) return refuse(TEMPOS_PASS_MALFORMED, "IPv6 version");
    Ipv6Event ev;
    ev.l3 = l3;
    ev.payload_len = get16(frame, l3 + 4);
    if (ev.payload_len > len - l3 - 40) return refuse(TEMPOS_PASS_MALFORMED, "payload length");

    // Extension headers: hop-by-hop, destination options and a routing header with segments left 0 are skipped,
    // four at most; a header is read only if the frame holds its first four bytes, and must fit in the payload.
    std::uint8_t next = frame[l3 + 6];
    std::size_t ext = 0;
    const std::size_t first = l3 + 40;
    for (std::size_t skipped = 0; next == 0 || next == 43 || next == 60; ++skipped) {
        if (skipped == kMaxSkippedExtHeaders)
            return refuse(TEMPOS_PASS_EXT_HEADER, "more extension headers than skipped");
        if (len < first + ext + 4) return refuse(TEMPOS_PASS_MALFORMED, "extension header cut");
        if (next == 43 && frame[first + ext + 3] != 0)
            return refuse(TEMPOS_PASS_EXT_HEADER, "routing header, segments left");
        next = frame[first + ext];
        ext += (frame[first + ext + 1] + 1u) * 8;
        if (ext > ev.payload_len) return refuse(TEMPOS_PASS_MALFORMED, "extension headers beyond payload");
    }
    if (next == 50 || next == 51 || next == 135 || next == 139 || next == 140 || next == 253 || next == 254)
        return refuse(TEMPOS_PASS_EXT_HEADER, "extension header not skipped");
    if (next == 44) return refuse(TEMPOS_PASS_FRAGMENT, "fragment header");
    if (next != 17) return refuse(TEMPOS_PASS_NOT_OUR_PORT, "not UDP");

    ev.l4 = first + ext;
    if (len < ev.l4 + 8) return refuse(TEMPOS_PASS_MALFORMED, "UDP header cut by the frame");
    if (get16(frame, ev.l4 + 2) != mom_port) return refuse(TEMPOS_PASS_NOT_OUR_PORT, "other port");
    ev.udp_len = get16(frame, ev.l4 + 4);
    if (ev.udp_len != ev.payload_len - ext || ev.udp_len < 8) return refuse(TEMPOS_PASS_MALFORMED, "udp.len");
    if (ev.udp_len == 8) return refuse(TEMPOS_PASS_NO_PAYLOAD, "no payload");
    ev.udp_check = get16(frame, ev.l4 + 6);
    if (ev.udp_check == 0) return refuse(TEMPOS_PASS_MALFORMED, "UDP checksum 0 (invalid in IPv6)");
    ev.src = addr6_at(frame, l3 + 8);
    ev.dst = addr6_at(frame, l3 + 24);
    ev.topic = frame[ev.l4 + 8];
    ev.hop_limit = frame[l3 + 7];
    return ev;
}

std::uint16_t rewritten_udp_check(const Bytes& out, std::size_t l4, std::size_t udp_len, std::uint16_t udp_check,
                                  UdpCheck mode, const Ipv4Addr& old_src, const Ipv4Addr& new_src,
                                  const Ipv4Addr& old_dst, const Ipv4Addr& new_dst, std::uint16_t old_port,
                                  std::uint16_t new_port) {
    return udp_check_after(out, l4, udp_len, udp_check, mode, old_src, new_src, old_dst, new_dst, old_port, new_port);
}

std::uint16_t rewritten_udp_check(const Bytes& out, std::size_t l4, std::size_t udp_len, std::uint16_t udp_check,
                                  UdpCheck mode, const Ipv6Addr& old_src, const Ipv6Addr& new_src,
                                  const Ipv6Addr& old_dst, const Ipv6Addr& new_dst, std::uint16_t old_port,
                                  std::uint16_t new_port) {
    return udp_check_after(out, l4, udp_len, udp_check, mode, old_src, new_src, old_dst, new_dst, old_port, new_port);
}

Bytes rewrite_ipv6(const Bytes& frame, const Ipv6Event& ev, const MacAddr& dst_mac, const MacAddr& src_mac,
                   const Ipv6Addr& new_src, const Ipv6Addr& dst, std::uint16_t port, UdpCheck mode) {
    Bytes out = frame;
    std::memcpy(&out[0], dst_mac.data(), 6);
    std::memcpy(&out[6], src_mac.data(), 6);
    std::memcpy(&out[ev.l3 + 8], new_src.data(), 16);
    std::memcpy(&out[ev.l3 + 24], dst.data(), 16);
    out[ev.l3 + 7] = static_cast<std::uint8_t>(ev.hop_limit - 1);
    const std::uint16_t old_port = get16(frame, ev.l4 + 2);
    put16(out, ev.l4 + 2, port);
    put16(out, ev.l4 + 6,
          rewritten_udp_check(out, ev.l4, ev.udp_len, ev.udp_check, mode, ev.src, new_src, ev.dst, dst, old_port, port));
    return out;
}

}  // namespace tempos::fuzz
