// Checks the UDP checksum of a captured frame by recomputing it in full (never with the code under test): what
// the e2e scenarios use to prove the router's rewritten frames, since a veth receiver trusts a CHECKSUM_PARTIAL
// skb without verifying it. `tempos-testkit frames capture-checksums` applies it to frames taken from an
// AF_PACKET socket (PACKET_AUXDATA says whether the skb is still CHECKSUM_PARTIAL).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tempos::testkit {

enum class UdpChecksumVerdict {
    complete_ok,   // the complete checksum verifies over the pseudo-header and the datagram
    complete_bad,  // it does not
    partial_ok,    // the skb is CHECKSUM_PARTIAL and the field is the pseudo-header sum of its own addresses
    partial_bad,   // CHECKSUM_PARTIAL with another value: whoever completes it computes a wrong checksum
    none,          // checksum 0: the sender computed none
    not_udp,       // not an IPv4 or IPv6 UDP frame (or truncated): not checked
};

const char* verdict_name(UdpChecksumVerdict verdict);

// frame: from its Ethernet header (0-2 VLAN tags), IPv4 or IPv6 (hop-by-hop, routing, destination options skipped). partial_mark: the skb carried CHECKSUM_PARTIAL
// (TP_STATUS_CSUMNOTREADY). Only the bytes of udp.len are summed; Ethernet padding is not.
UdpChecksumVerdict check_udp_checksum(const std::uint8_t* frame, std::size_t len, bool partial_mark,
                                      std::uint16_t* dest_port = nullptr);

}  // namespace tempos::testkit
