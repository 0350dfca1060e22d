// The one frame builder of the project: a small fluent builder of Ethernet/VLAN/IPv4 or IPv6/UDP frames for the BPF
// tests' fixtures, the plugin tests, tempos-bench and the e2e injector (tempos-testkit frames inject). It
// computes the IPv4 header checksum and the UDP checksum itself, in full (never incrementally, never with the
// code under test), so an expected output built from the rewritten fields verifies the programs' incremental
// updates.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tempos::testkit {

using Bytes = std::vector<std::uint8_t>;
using MacAddr = std::array<std::uint8_t, 6>;
using Ipv4Addr = std::array<std::uint8_t, 4>;
using Ipv6Addr = std::array<std::uint8_t, 16>;

// Internet checksum (RFC 1071) over data, starting from a partial sum; returns the folded, complemented value.
std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t initial = 0);

class PacketBuilder {
public:
    static constexpr std::uint16_t kEthIpv4 = 0x0800;
    static constexpr std::uint16_t kEthIpv6 = 0x86dd;
    static constexpr std::uint16_t kEthArp = 0x0806;
    static constexpr std::uint16_t kVlan8021Q = 0x8100;
    static constexpr std::uint16_t kVlan8021AD = 0x88a8;

    PacketBuilder& eth(const MacAddr& dst, const MacAddr& src);
    PacketBuilder& vlan(std::uint16_t tpid, std::uint16_t tci);
    PacketBuilder& untagged();  // drops every VLAN tag given so far

    // A non-IPv4 frame: this ethertype followed by raw bytes (no IP/UDP).
    PacketBuilder& raw_l3(std::uint16_t ethertype, Bytes body);

    PacketBuilder& ipv4(const Ipv4Addr& src, const Ipv4Addr& dst);
    PacketBuilder& ttl(std::uint8_t ttl);
    PacketBuilder& ip_id(std::uint16_t id);
    PacketBuilder& tos(std::uint8_t tos);
    PacketBuilder& frag_off(std::uint16_t flags_and_offset);  // host order: DF 0x4000, MF 0x2000, offset
    PacketBuilder& ip_options(Bytes options);                 // multiple of 4 bytes; ihl follows
    PacketBuilder& ihl(std::uint8_t ihl);                     // override the computed ihl
    PacketBuilder& version(std::uint8_t version);
    PacketBuilder& tot_len(std::uint16_t tot_len);            // override the computed total length
    PacketBuilder& protocol(std::uint8_t protocol);           // override (UDP 17 by default)
    PacketBuilder& bad_ip_checksum();                         // the correct header checksum with its low byte flipped
    // These bytes as the whole IP payload instead of a UDP (or TCP) datagram: a fragment's piece of one.
    PacketBuilder& ip_payload(Bytes l4_bytes);

    // IPv6 instead of IPv4 (ttl() is the hop limit, tos() the traffic class, protocol() the last next header).
    PacketBuilder& ipv6(const Ipv6Addr& src, const Ipv6Addr& dst);
    // An extension header after those given so far: `type` (its number), then the next-header and length bytes
    // the builder writes, then `body` (6 + 8n bytes: the header is 8 + 8n bytes long).
    PacketBuilder& ipv6_ext(std::uint8_t type, Bytes body);
    PacketBuilder& payload_len(std::uint16_t len);  // override the computed IPv6 payload length

    PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport);
    // A 20-byte TCP header with these ports instead of UDP (checksum left 0: only ever a pass case).
    PacketBuilder& tcp(std::uint16_t sport, std::uint16_t dport);
    PacketBuilder& udp_len(std::uint16_t len);                // override the computed UDP length
    PacketBuilder& udp_checksum_none();                       // send checksum 0 ("no checksum")
    PacketBuilder& bad_udp_checksum();                        // the correct checksum with its low byte flipped
    // The field as a CHECKSUM_PARTIAL sender leaves it (offloaded transmit checksum): only the folded pseudo-header
    // sum of the addresses and UDP length, not complemented; the datagram's bytes are not in it.
    PacketBuilder& udp_checksum_partial(bool partial = true);
    PacketBuilder& payload(Bytes payload);
    PacketBuilder& padding(std::size_t bytes);                // bytes after the IP datagram (Ethernet padding)
    PacketBuilder& truncate(std::size_t frame_len);           // cut the finished frame to this length

    // The frame as the router should emit it towards a subscriber: new MACs, addresses and destination port,
    // TTL one lower; everything else as before. build() then computes both checksums from scratch.
    PacketBuilder& forwarded(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv4Addr& ip_src,
                             const Ipv4Addr& ip_dst, std::uint16_t dport);
    // The same for IPv6 (hop limit one lower; no IP header checksum).
    PacketBuilder& forwarded(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv6Addr& ip_src,
                             const Ipv6Addr& ip_dst, std::uint16_t dport);

    Bytes build() const;

private:
    // What forwarded() changes in either family besides the addresses: MACs, destination port, TTL one lower.
    PacketBuilder& hop(const MacAddr& dst_mac, const MacAddr& src_mac, std::uint16_t dport);
    // The UDP or TCP datagram (or ip_payload), its UDP checksum over the pseudo-header of these addresses (4 bytes
    // each for IPv4, 16 for IPv6).
    void put_l4(Bytes& out, std::span<const std::uint8_t> ip_src, std::span<const std::uint8_t> ip_dst) const;
    std::size_t l4_len() const;

private:
    MacAddr dst_mac_{};
    MacAddr src_mac_{};
    std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans_;
    std::optional<std::pair<std::uint16_t, Bytes>> raw_l3_;
    Ipv4Addr ip_src_{};
    Ipv4Addr ip_dst_{};
    std::uint8_t ttl_ = 64;
    std::uint16_t ip_id_ = 0x1234;
    std::uint8_t tos_ = 0;
    std::uint16_t frag_off_ = 0;
    Bytes ip_options_;
    std::optional<std::uint8_t> ihl_;
    std::optional<std::uint8_t> version_;  // 4 or 6 by the family unless set
    std::optional<std::uint16_t> tot_len_;
    std::optional<std::uint8_t> protocol_;
    bool bad_ip_checksum_ = false;
    std::optional<Bytes> ip_payload_;
    bool ipv6_ = false;
    Ipv6Addr ip6_src_{};
    Ipv6Addr ip6_dst_{};
    std::vector<std::pair<std::uint8_t, Bytes>> ipv6_ext_;
    std::optional<std::uint16_t> payload_len_;
    bool tcp_ = false;
    std::uint16_t sport_ = 0;
    std::uint16_t dport_ = 0;
    std::optional<std::uint16_t> udp_len_;
    bool udp_checksum_none_ = false;
    bool bad_udp_checksum_ = false;
    bool udp_checksum_partial_ = false;
    Bytes payload_;
    std::size_t padding_ = 0;
    std::optional<std::size_t> truncate_;
};

}  // namespace tempos::testkit
