#include "frames/udp_checksum_check.hpp"

#include <algorithm>

#include "frames/packet_builder.hpp"

namespace tempos::testkit {

namespace {

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

const char* verdict_name(UdpChecksumVerdict verdict) {
    switch (verdict) {
        case UdpChecksumVerdict::complete_ok: return "complete_ok";
        case UdpChecksumVerdict::complete_bad: return "complete_bad";
        case UdpChecksumVerdict::partial_ok: return "partial_ok";
        case UdpChecksumVerdict::partial_bad: return "partial_bad";
        case UdpChecksumVerdict::none: return "none";
        case UdpChecksumVerdict::not_udp: return "not_udp";
    }
    return "unknown";
}

UdpChecksumVerdict check_udp_checksum(const std::uint8_t* frame, std::size_t len, bool partial_mark,
                                      std::uint16_t* dest_port) {
    std::size_t at = 12;
    if (len < at + 2) return UdpChecksumVerdict::not_udp;
    std::uint16_t proto = get16(frame + at);
    for (int tags = 0; tags < 2 && (proto == PacketBuilder::kVlan8021Q || proto == PacketBuilder::kVlan8021AD); ++tags) {
        at += 4;
        if (len < at + 2) return UdpChecksumVerdict::not_udp;
        proto = get16(frame + at);
    }
    at += 2;
    const std::uint8_t* ip = frame + at;
    const std::uint8_t* udp = nullptr;
    // Pseudo-header: the addresses, then zero, protocol, UDP length (IPv4 12 bytes; IPv6 36, its 32-bit length
    // and next header summed as the same 16-bit words).
    std::uint8_t pseudo[36] = {};
    std::size_t addresses = 0;
    if (proto == PacketBuilder::kEthIpv4) {
        if (len < at + 20) return UdpChecksumVerdict::not_udp;
        const std::size_t ihl = (ip[0] & 0xf) * 4u;
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17 || (get16(ip + 6) & 0x3fff) != 0 || len < at + ihl + 8)
            return UdpChecksumVerdict::not_udp;
        udp = ip + ihl;
        addresses = 8;
        std::copy(ip + 12, ip + 20, pseudo);
    } else if (proto == PacketBuilder::kEthIpv6) {
        if (len < at + 40 || (ip[0] >> 4) != 6) return UdpChecksumVerdict::not_udp;
        // Hop-by-hop, routing and destination options headers are skipped, as the router does.
        std::size_t l4 = at + 40;
        std::uint8_t next = ip[6];
        while (next == 0 || next == 43 || next == 60) {
            if (len < l4 + 2) return UdpChecksumVerdict::not_udp;
            next = frame[l4];
            l4 += (frame[l4 + 1] + 1u) * 8;
        }
        if (next != 17 || len < l4 + 8) return UdpChecksumVerdict::not_udp;
        udp = frame + l4;
        addresses = 32;
        std::copy(ip + 8, ip + 40, pseudo);
    } else {
        return UdpChecksumVerdict::not_udp;
    }
    const std::size_t udp_len = get16(udp + 4);
    if (udp_len < 8 || len < static_cast<std::size_t>(udp - frame) + udp_len) return UdpChecksumVerdict::not_udp;
    if (dest_port) *dest_port = get16(udp + 2);

    pseudo[addresses + 1] = 17;
    pseudo[addresses + 2] = udp[4];
    pseudo[addresses + 3] = udp[5];
    const std::uint16_t field = get16(udp + 6);
    const auto pseudo_folded = static_cast<std::uint16_t>(~internet_checksum(pseudo, addresses + 4));
    if (partial_mark)
        return field == pseudo_folded ? UdpChecksumVerdict::partial_ok : UdpChecksumVerdict::partial_bad;
    if (field == 0) return UdpChecksumVerdict::none;  // IPv6: invalid (RFC 8200); the caller counts it as not ok
    // Over the pseudo-header and the datagram, field included, a correct checksum sums to all ones.
    return internet_checksum(udp, udp_len, pseudo_folded) == 0 ? UdpChecksumVerdict::complete_ok
                                                            : UdpChecksumVerdict::complete_bad;
}

}  // namespace tempos::testkit
