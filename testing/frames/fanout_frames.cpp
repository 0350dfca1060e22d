#include "frames/fanout_frames.hpp"

#include "frames/frame_world.hpp"

namespace tempos::testkit {

namespace w = world;

PacketBuilder fanout_event(std::uint8_t topic) {
    PacketBuilder b;
    b.eth(w::kMomMac, w::kPublisherMac)
        .ipv4(w::kPublisherIp, w::kMomIp)
        .ttl(64)
        .udp(w::kPublisherPort, w::kMomPort)
        .payload({topic, 'f', 'a', 'n', ' ', 'o', 'u', 't'});
    return b;
}

PacketBuilder fanout_event_of_length(std::uint8_t topic, std::size_t tot_len) {
    Bytes payload(tot_len - 20 - 8, 'x');
    payload[0] = topic;
    return fanout_event(topic).payload(std::move(payload));
}

const std::vector<FanoutShape>& fanout_accepted_shapes() {
    static const std::vector<FanoutShape> shapes{
        {"plain", [](PacketBuilder&, std::uint8_t) {}},
        {"udp_checksum_none", [](PacketBuilder& b, std::uint8_t) { b.udp_checksum_none(); }},
        {"ip_options",
         [](PacketBuilder& b, std::uint8_t) { b.ip_options({0x01, 0x01, 0x01, 0x00, 0x94, 0x04, 0x00, 0x00}); }},
        {"ethernet_padding", [](PacketBuilder& b, std::uint8_t topic) { b.payload({topic}).padding(14); }},
        {"ttl_2", [](PacketBuilder& b, std::uint8_t) { b.ttl(2); }},
        {"dont_fragment_and_tos", [](PacketBuilder& b, std::uint8_t) { b.frag_off(0x4000).tos(0xb8); }},
        {"vlan", [](PacketBuilder& b, std::uint8_t) { b.vlan(PacketBuilder::kVlan8021Q, 42); }},
        {"qinq",
         [](PacketBuilder& b, std::uint8_t) {
             b.vlan(PacketBuilder::kVlan8021AD, 7).vlan(PacketBuilder::kVlan8021Q, 42);
         }},
    };
    return shapes;
}

std::vector<std::pair<std::string, PacketBuilder>> fanout_passed_frames(std::uint8_t topic) {
    // BPF_PROG_TEST_RUN itself refuses an IPv4 skb shorter than an IP header: the cut frame keeps 38 bytes.
    return {
        {"other_port", fanout_event(topic).udp(w::kPublisherPort, 9999)},
        {"fragment", fanout_event(topic).frag_off(0x2000)},
        {"no_payload", fanout_event(topic).payload({})},
        {"udp_len_9", fanout_event(topic).udp_len(9)},
        {"cut_in_udp_header", fanout_event(topic).truncate(38)},
        {"tot_len_beyond_the_frame", fanout_event(topic).tot_len(200)},
        {"ihl_4", fanout_event(topic).ihl(4)},
        {"arp", PacketBuilder().eth(w::kMomMac, w::kPublisherMac).raw_l3(PacketBuilder::kEthArp, Bytes(28, 0))},
        {"tcp", fanout_event(topic).tcp(w::kPublisherPort, w::kMomPort)},
        // Not addressed to this MoM (bpf/destination.h): a broadcast, another host's MAC, an address not listened on.
        {"broadcast", fanout_event(topic).eth(w::kBroadcastMac, w::kPublisherMac).ipv4(w::kPublisherIp, w::kBroadcastIp)},
        {"other_host_mac", fanout_event(topic).eth(w::kOtherHostMac, w::kPublisherMac)},
        {"address_not_listened_on", fanout_event(topic).ipv4(w::kPublisherIp, w::kNotListenedIp)},
    };
}

PacketBuilder fanout_event6(std::uint8_t topic) { return fanout_event(topic).ipv6(w::kPublisherIp6, w::kMomIp6); }

const std::vector<FanoutShape>& fanout_accepted_shapes6() {
    using namespace w::ipv6_ext;
    static const std::vector<FanoutShape> shapes{
        {"ipv6_plain", [](PacketBuilder&, std::uint8_t) {}},
        {"ipv6_hop_limit_2", [](PacketBuilder& b, std::uint8_t) { b.ttl(2); }},
        {"ipv6_traffic_class", [](PacketBuilder& b, std::uint8_t) { b.tos(0xb8); }},
        {"ipv6_ethernet_padding", [](PacketBuilder& b, std::uint8_t topic) { b.payload({topic}).padding(6); }},
        {"ipv6_hop_by_hop", [](PacketBuilder& b, std::uint8_t) { b.ipv6_ext(kHopByHop, kPad6); }},
        {"ipv6_destination_options", [](PacketBuilder& b, std::uint8_t) { b.ipv6_ext(kDestinationOptions, kPad14); }},
        {"ipv6_routing_done", [](PacketBuilder& b, std::uint8_t) { b.ipv6_ext(kRouting, kRoutingDone); }},
        {"ipv6_four_extension_headers",
         [](PacketBuilder& b, std::uint8_t) {
             b.ipv6_ext(kHopByHop, kPad6)
                 .ipv6_ext(kDestinationOptions, kPad6)
                 .ipv6_ext(kRouting, kRoutingDone)
                 .ipv6_ext(kDestinationOptions, kPad14);
         }},
        {"ipv6_vlan", [](PacketBuilder& b, std::uint8_t) { b.vlan(PacketBuilder::kVlan8021Q, 42); }},
        {"ipv6_qinq_hop_by_hop",
         [](PacketBuilder& b, std::uint8_t) {
             b.vlan(PacketBuilder::kVlan8021AD, 7).vlan(PacketBuilder::kVlan8021Q, 42).ipv6_ext(kHopByHop, kPad6);
         }},
    };
    return shapes;
}

std::vector<std::pair<std::string, PacketBuilder>> fanout_passed_frames6(std::uint8_t topic) {
    using namespace w::ipv6_ext;
    constexpr std::size_t kIp6End = 14 + 40;  // where the IPv6 header ends in an untagged frame
    const auto e = [&] { return fanout_event6(topic); };
    const std::uint16_t udp_datagram = static_cast<std::uint16_t>(e().build().size() - kIp6End);
    return {
        {"ipv6_other_port", e().udp(w::kPublisherPort, 9999)},
        {"ipv6_fragment_header", e().ipv6_ext(kFragment, kFragmentFirst)},
        {"ipv6_fragment_after_hop_by_hop", e().ipv6_ext(kHopByHop, kPad6).ipv6_ext(kFragment, kFragmentFirst)},
        {"ipv6_five_extension_headers",
         e().ipv6_ext(kHopByHop, kPad6)
             .ipv6_ext(kDestinationOptions, kPad6)
             .ipv6_ext(kRouting, kRoutingDone)
             .ipv6_ext(kDestinationOptions, kPad6)
             .ipv6_ext(kDestinationOptions, kPad6)},
        {"ipv6_routing_segments_left", e().ipv6_ext(kRouting, kRoutingLeft)},
        {"ipv6_authentication_header", e().ipv6_ext(51, kPad14)},
        {"ipv6_esp_after_hop_by_hop", e().ipv6_ext(kHopByHop, kPad6).ipv6_ext(50, kPad6)},
        {"ipv6_no_payload", e().payload({})},
        {"ipv6_udp_checksum_zero", e().udp_checksum_none()},
        {"ipv6_version_4", e().version(4)},
        {"ipv6_tcp", e().tcp(w::kPublisherPort, w::kMomPort)},
        {"ipv6_no_next_header", e().ipv6_ext(kHopByHop, kPad6).protocol(59).ip_payload({})},
        // Truncation at every header boundary from the IPv6 header's end on: BPF_PROG_TEST_RUN itself refuses an
        // IPv6 skb shorter than an IPv6 header (the router's fixtures have those cuts).
        {"ipv6_cut_after_header", e().payload_len(0).truncate(kIp6End)},
        {"ipv6_cut_in_udp_header", e().payload_len(4).truncate(kIp6End + 4)},
        {"ipv6_cut_in_extension_header", e().ipv6_ext(kHopByHop, kPad6).payload_len(2).truncate(kIp6End + 2)},
        {"ipv6_cut_after_extension_header", e().ipv6_ext(kHopByHop, kPad6).payload_len(8).truncate(kIp6End + 8)},
        // Lengths that lie.
        {"ipv6_payload_length_beyond_frame", e().payload_len(static_cast<std::uint16_t>(udp_datagram + 1))},
        {"ipv6_payload_length_short_of_udp", e().payload_len(static_cast<std::uint16_t>(udp_datagram - 1))},
        {"ipv6_udp_len_too_large", e().udp_len(static_cast<std::uint16_t>(udp_datagram + 1))},
        {"ipv6_extension_header_beyond_payload", e().ipv6_ext(kDestinationOptions, kPad14).payload_len(8)},
        // Not addressed to this MoM (bpf/destination.h).
        {"ipv6_other_host_mac", e().eth(w::kOtherHostMac, w::kPublisherMac)},
        {"ipv6_address_not_listened_on", e().ipv6(w::kPublisherIp6, w::kNotListenedIp6)},
        {"ipv6_all_nodes_multicast", e().eth(w::kAllNodesMac, w::kPublisherMac).ipv6(w::kPublisherIp6, w::kAllNodesIp6)},
    };
}

}  // namespace tempos::testkit
