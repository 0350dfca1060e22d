#include "frames/udp_checksum_check.hpp"

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
    if (proto != PacketBuilder::kEthIpv4 || len < at + 20) return UdpChecksumVerdict::not_udp;
    const std::uint8_t* ip = frame + at;
    const std::size_t ihl = (ip[0] & 0xf) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17 || (get16(ip + 6) & 0x3fff) != 0 || len < at + ihl + 8)
        return UdpChecksumVerdict::not_udp;
    const std::uint8_t* udp = ip + ihl;
    const std::size_t udp_len = get16(udp + 4);
    if (udp_len < 8 || len < at + ihl + udp_len) return UdpChecksumVerdict::not_udp;
    if (dest_port) *dest_port = get16(udp + 2);

    // Pseudo-header: source, destination, zero, protocol, UDP length.
    const std::uint8_t pseudo[12] = {ip[12], ip[13], ip[14], ip[15], ip[16], ip[17], ip[18], ip[19],
                                     0,      17,     udp[4], udp[5]};
    const std::uint16_t field = get16(udp + 6);
    const auto pseudo_folded = static_cast<std::uint16_t>(~internet_checksum(pseudo, sizeof(pseudo)));
    if (partial_mark)
        return field == pseudo_folded ? UdpChecksumVerdict::partial_ok : UdpChecksumVerdict::partial_bad;
    if (field == 0) return UdpChecksumVerdict::none;
    // Over the pseudo-header and the datagram, field included, a correct checksum sums to all ones.
    return internet_checksum(udp, udp_len, pseudo_folded) == 0 ? UdpChecksumVerdict::complete_ok
                                                            : UdpChecksumVerdict::complete_bad;
}

}  // namespace tempos::testkit
