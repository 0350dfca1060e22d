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

}  // namespace tempos::testkit
