#include "frames/frame_world.hpp"

namespace tempos::testkit {

namespace world {

PacketBuilder event(std::uint8_t topic, std::uint16_t mom_port) {
    PacketBuilder b;
    b.eth(kMomMac, kPublisherMac)
        .ipv4(kPublisherIp, kMomIp)
        .ttl(64)
        .udp(kPublisherPort, mom_port)
        .payload({topic, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    return b;
}

PacketBuilder forwarded(PacketBuilder event, const Subscriber& sub, const Ipv4Addr& new_src, const MacAddr& src_mac) {
    event.forwarded(sub.mac, src_mac, new_src, sub.ip, sub.port);
    return event;
}

PacketBuilder event6(std::uint8_t topic, std::uint16_t mom_port) {
    PacketBuilder b = event(topic, mom_port);
    b.ipv6(kPublisherIp6, kMomIp6);
    return b;
}

PacketBuilder forwarded(PacketBuilder event, const Subscriber6& sub, const Ipv6Addr& new_src, const MacAddr& src_mac) {
    event.forwarded(sub.mac, src_mac, new_src, sub.ip, sub.port);
    return event;
}

}  // namespace world

PacketBuilder bench_event(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv4Addr& src_ip,
                          const Ipv4Addr& dst_ip, std::uint16_t dst_port, std::uint8_t topic) {
    constexpr std::size_t kFrameSize = 64;
    Bytes payload{topic};
    for (std::size_t i = 1; i < kFrameSize - 14 - 20 - 8; ++i)
        payload.push_back(static_cast<std::uint8_t>('a' + i % 26));
    PacketBuilder b;
    b.eth(dst_mac, src_mac).ipv4(src_ip, dst_ip).ttl(255).udp(world::kPublisherPort, dst_port)
        .payload(std::move(payload));
    return b;
}

PacketBuilder bench_event6(const MacAddr& dst_mac, const MacAddr& src_mac, const Ipv6Addr& src_ip,
                           const Ipv6Addr& dst_ip, std::uint16_t dst_port, std::uint8_t topic) {
    PacketBuilder b = bench_event(dst_mac, src_mac, {}, {}, dst_port, topic);
    b.ipv6(src_ip, dst_ip);
    return b;
}

}  // namespace tempos::testkit
