#include "frames/packet_builder.hpp"

#include <utility>

namespace tempos::testkit {

namespace {
void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}
void set16(Bytes& out, std::size_t at, std::uint16_t v) {
    out[at] = static_cast<std::uint8_t>(v >> 8);
    out[at + 1] = static_cast<std::uint8_t>(v & 0xff);
}
std::uint32_t sum_words(const std::uint8_t* data, std::size_t len) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
    if (len % 2 == 1) sum += static_cast<std::uint32_t>(data[len - 1] << 8);
    return sum;
}
}  // namespace

std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t initial) {
    std::uint64_t sum = initial + static_cast<std::uint64_t>(sum_words(data, len));
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

PacketBuilder& PacketBuilder::eth(const MacAddr& dst, const MacAddr& src) { dst_mac_ = dst; src_mac_ = src; return *this; }
PacketBuilder& PacketBuilder::vlan(std::uint16_t tpid, std::uint16_t tci) { vlans_.emplace_back(tpid, tci); return *this; }
PacketBuilder& PacketBuilder::untagged() { vlans_.clear(); return *this; }
PacketBuilder& PacketBuilder::raw_l3(std::uint16_t ethertype, Bytes body) { raw_l3_.emplace(ethertype, std::move(body)); return *this; }
PacketBuilder& PacketBuilder::ipv4(const Ipv4Addr& src, const Ipv4Addr& dst) { ip_src_ = src; ip_dst_ = dst; return *this; }
PacketBuilder& PacketBuilder::ttl(std::uint8_t ttl) { ttl_ = ttl; return *this; }
PacketBuilder& PacketBuilder::ip_id(std::uint16_t id) { ip_id_ = id; return *this; }
PacketBuilder& PacketBuilder::tos(std::uint8_t tos) { tos_ = tos; return *this; }
PacketBuilder& PacketBuilder::frag_off(std::uint16_t v) { frag_off_ = v; return *this; }
PacketBuilder& PacketBuilder::ip_options(Bytes options) { ip_options_ = std::move(options); return *this; }
PacketBuilder& PacketBuilder::ihl(std::uint8_t ihl) { ihl_ = ihl; return *this; }
PacketBuilder& PacketBuilder::version(std::uint8_t version) { version_ = version; return *this; }
PacketBuilder& PacketBuilder::tot_len(std::uint16_t tot_len) { tot_len_ = tot_len; return *this; }
PacketBuilder& PacketBuilder::protocol(std::uint8_t protocol) { protocol_ = protocol; return *this; }
PacketBuilder& PacketBuilder::bad_ip_checksum() { bad_ip_checksum_ = true; return *this; }
PacketBuilder& PacketBuilder::ip_payload(Bytes l4_bytes) { ip_payload_ = std::move(l4_bytes); return *this; }
PacketBuilder& PacketBuilder::ipv6(const Ipv6Addr& src, const Ipv6Addr& dst) { ipv6_ = true; ip6_src_ = src; ip6_dst_ = dst; return *this; }
PacketBuilder& PacketBuilder::ipv6_ext(std::uint8_t type, Bytes body) { ipv6_ext_.emplace_back(type, std::move(body)); return *this; }
PacketBuilder& PacketBuilder::payload_len(std::uint16_t len) { payload_len_ = len; return *this; }
PacketBuilder& PacketBuilder::udp(std::uint16_t sport, std::uint16_t dport) { tcp_ = false; sport_ = sport; dport_ = dport; return *this; }
PacketBuilder& PacketBuilder::tcp(std::uint16_t sport, std::uint16_t dport) { tcp_ = true; sport_ = sport; dport_ = dport; return *this; }
PacketBuilder& PacketBuilder::udp_len(std::uint16_t len) { udp_len_ = len; return *this; }
PacketBuilder& PacketBuilder::udp_checksum_none() { udp_checksum_none_ = true; return *this; }
PacketBuilder& PacketBuilder::bad_udp_checksum() { bad_udp_checksum_ = true; return *this; }
PacketBuilder& PacketBuilder::udp_checksum_partial(bool partial) { udp_checksum_partial_ = partial; return *this; }
PacketBuilder& PacketBuilder::payload(Bytes payload) { payload_ = std::move(payload); return *this; }
PacketBuilder& PacketBuilder::padding(std::size_t bytes) { padding_ = bytes; return *this; }
PacketBuilder& PacketBuilder::truncate(std::size_t frame_len) { truncate_ = frame_len; return *this; }

PacketBuilder& PacketBuilder::forwarded(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv4Addr& ip_src,
                                        const Ipv4Addr& ip_dst, std::uint16_t dport) {
    ip_src_ = ip_src;
    ip_dst_ = ip_dst;
    return hop(dst_mac, src_mac, dport);
}

PacketBuilder& PacketBuilder::forwarded(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv6Addr& ip_src,
                                        const Ipv6Addr& ip_dst, std::uint16_t dport) {
    ip6_src_ = ip_src;
    ip6_dst_ = ip_dst;
    return hop(dst_mac, src_mac, dport);
}

PacketBuilder& PacketBuilder::hop(const MacAddr& dst_mac, const MacAddr& src_mac, std::uint16_t dport) {
    dst_mac_ = dst_mac;
    src_mac_ = src_mac;
    dport_ = dport;
    ttl_ = static_cast<std::uint8_t>(ttl_ - 1);  // the hop limit too: one field for both families
    return *this;
}

std::size_t PacketBuilder::l4_len() const {
    return ip_payload_ ? ip_payload_->size() : (tcp_ ? 20 : 8) + payload_.size();
}

void PacketBuilder::put_l4(Bytes& out, std::span<const std::uint8_t> ip_src,
                           std::span<const std::uint8_t> ip_dst) const {
    // Pseudo-header: source, destination, zero, protocol (RFC 768); for IPv6 (RFC 8200 8.1) 3 zeros and 17, which
    // sum like the 16-bit word 17. The UDP length follows, below.
    Bytes pseudo(ip_src.begin(), ip_src.end());
    pseudo.insert(pseudo.end(), ip_dst.begin(), ip_dst.end());
    pseudo.push_back(0);
    pseudo.push_back(17);
    const std::size_t l4_at = out.size();
    if (ip_payload_) {
        out.insert(out.end(), ip_payload_->begin(), ip_payload_->end());
    } else if (tcp_) {
        put16(out, sport_);
        put16(out, dport_);
        out.insert(out.end(), 8, 0);                 // seq, ack
        out.push_back(0x50);                         // data offset 5
        out.push_back(0x18);                         // PSH|ACK
        put16(out, 0xffff);                          // window
        put16(out, 0);                               // checksum (not verified: pass cases only)
        put16(out, 0);                               // urgent pointer
        out.insert(out.end(), payload_.begin(), payload_.end());
    } else {
        const std::uint16_t udp_len = udp_len_.value_or(static_cast<std::uint16_t>(l4_len()));
        put16(out, sport_);
        put16(out, dport_);
        put16(out, udp_len);
        put16(out, 0);  // checksum, below
        out.insert(out.end(), payload_.begin(), payload_.end());
        if (!udp_checksum_none_) {
            // The pseudo-header's length: the UDP length as written in the header (IPv6: a 32-bit field, whose
            // upper half is 0 and adds nothing).
            put16(pseudo, udp_len);
            const std::uint32_t pseudo_sum = sum_words(pseudo.data(), pseudo.size());
            std::uint16_t check = internet_checksum(&out[l4_at], out.size() - l4_at, pseudo_sum);
            if (check == 0) check = 0xffff;  // RFC 768: 0 means "no checksum"
            // CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented (what the sender's kernel
            // leaves for the offloading device to complete).
            if (udp_checksum_partial_) check = static_cast<std::uint16_t>(~internet_checksum(pseudo.data(), pseudo.size()));
            if (bad_udp_checksum_) check ^= 0x00ff;
            set16(out, l4_at + 6, check);
        }
    }
}

Bytes PacketBuilder::build() const {
    Bytes out(dst_mac_.begin(), dst_mac_.end());
    out.insert(out.end(), src_mac_.begin(), src_mac_.end());
    for (const auto& [tpid, tci] : vlans_) {
        put16(out, tpid);
        put16(out, tci);
    }
    if (raw_l3_) {
        put16(out, raw_l3_->first);
        out.insert(out.end(), raw_l3_->second.begin(), raw_l3_->second.end());
    } else if (ipv6_) {
        put16(out, kEthIpv6);
        const std::uint8_t protocol = protocol_.value_or(tcp_ ? 6 : 17);
        std::size_t ext_len = 0;
        for (const auto& [type, body] : ipv6_ext_) ext_len += 2 + body.size();
        out.push_back(static_cast<std::uint8_t>(version_.value_or(6) << 4 | tos_ >> 4));
        out.push_back(static_cast<std::uint8_t>((tos_ & 0xf) << 4));
        put16(out, 0);  // flow label
        put16(out, payload_len_.value_or(static_cast<std::uint16_t>(ext_len + l4_len())));
        out.push_back(ipv6_ext_.empty() ? protocol : ipv6_ext_.front().first);
        out.push_back(ttl_);
        out.insert(out.end(), ip6_src_.begin(), ip6_src_.end());
        out.insert(out.end(), ip6_dst_.begin(), ip6_dst_.end());
        for (std::size_t i = 0; i < ipv6_ext_.size(); ++i) {
            const Bytes& body = ipv6_ext_[i].second;
            out.push_back(i + 1 < ipv6_ext_.size() ? ipv6_ext_[i + 1].first : protocol);
            out.push_back(static_cast<std::uint8_t>((2 + body.size()) / 8 - 1));
            out.insert(out.end(), body.begin(), body.end());
        }
        put_l4(out, ip6_src_, ip6_dst_);
        out.insert(out.end(), padding_, 0);
    } else {
        put16(out, kEthIpv4);
        const std::size_t ip_at = out.size();
        const std::size_t ip_hdr_len = 20 + ip_options_.size();
        const std::uint8_t ihl = ihl_.value_or(static_cast<std::uint8_t>(ip_hdr_len / 4));
        const std::uint16_t tot_len = tot_len_.value_or(static_cast<std::uint16_t>(ip_hdr_len + l4_len()));
        const std::uint8_t protocol = protocol_.value_or(tcp_ ? 6 : 17);

        out.push_back(static_cast<std::uint8_t>(version_.value_or(4) << 4 | (ihl & 0xf)));
        out.push_back(tos_);
        put16(out, tot_len);
        put16(out, ip_id_);
        put16(out, frag_off_);
        out.push_back(ttl_);
        out.push_back(protocol);
        put16(out, 0);  // header checksum, below
        out.insert(out.end(), ip_src_.begin(), ip_src_.end());
        out.insert(out.end(), ip_dst_.begin(), ip_dst_.end());
        out.insert(out.end(), ip_options_.begin(), ip_options_.end());
        const std::uint16_t ip_check = internet_checksum(&out[ip_at], ip_hdr_len);
        set16(out, ip_at + 10, bad_ip_checksum_ ? ip_check ^ 0x00ff : ip_check);

        put_l4(out, ip_src_, ip_dst_);
        out.insert(out.end(), padding_, 0);
    }
    if (truncate_ && *truncate_ < out.size()) out.resize(*truncate_);
    return out;
}

}  // namespace tempos::testkit
