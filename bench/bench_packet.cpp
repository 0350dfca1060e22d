#include "bench_packet.hpp"

namespace tempos::bench {

namespace {
std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < n; i += 2) sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (n % 2) sum += static_cast<std::uint32_t>(p[n - 1] << 8);
    return sum;
}
std::uint16_t finish(std::uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum & 0xffff);
}
}  // namespace

std::vector<std::uint8_t> event_frame(const EventFrameSpec& s) {
    constexpr std::size_t kPayload = 64 - 14 - 20 - 8;
    std::vector<std::uint8_t> f(s.dst_mac.begin(), s.dst_mac.end());
    f.insert(f.end(), s.src_mac.begin(), s.src_mac.end());
    f.push_back(0x08);
    f.push_back(0x00);
    const std::uint16_t tot_len = 20 + 8 + kPayload;
    const std::uint8_t ip[20] = {0x45, 0, static_cast<std::uint8_t>(tot_len >> 8), static_cast<std::uint8_t>(tot_len),
                                 0x12, 0x34, 0, 0, s.ttl, 17, 0, 0, s.src_ip[0], s.src_ip[1], s.src_ip[2], s.src_ip[3],
                                 s.dst_ip[0], s.dst_ip[1], s.dst_ip[2], s.dst_ip[3]};
    f.insert(f.end(), ip, ip + 20);
    const std::uint16_t ip_check = finish(sum16(&f[14], 20));
    f[24] = static_cast<std::uint8_t>(ip_check >> 8);
    f[25] = static_cast<std::uint8_t>(ip_check);

    const std::uint16_t udp_len = 8 + kPayload;
    const std::uint8_t udp[8] = {static_cast<std::uint8_t>(s.src_port >> 8), static_cast<std::uint8_t>(s.src_port),
                                 static_cast<std::uint8_t>(s.dst_port >> 8), static_cast<std::uint8_t>(s.dst_port),
                                 static_cast<std::uint8_t>(udp_len >> 8),  static_cast<std::uint8_t>(udp_len),
                                 0, 0};
    f.insert(f.end(), udp, udp + 8);
    f.push_back(s.topic);
    for (std::size_t i = 1; i < kPayload; ++i) f.push_back(static_cast<std::uint8_t>('a' + i % 26));

    std::uint32_t pseudo = sum16(&f[26], 8);  // source and destination addresses
    pseudo += 17 + udp_len;
    std::uint16_t udp_check = finish(sum16(&f[34], udp_len, pseudo));
    if (udp_check == 0) udp_check = 0xffff;
    f[40] = static_cast<std::uint8_t>(udp_check >> 8);
    f[41] = static_cast<std::uint8_t>(udp_check);
    return f;
}

std::vector<std::uint8_t> strict_event_frame() {
    EventFrameSpec spec{kMomMac, {0x02, 0, 0, 0, 0, 0x01}, {10, 0, 0, 7}, kMomIp};
    spec.src_port = 40000;  // 0x9c40, as before
    return event_frame(spec);
}

}  // namespace tempos::bench
