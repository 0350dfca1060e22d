// What every user of the router and fan-out skeletons (the plugin, the tests, the benchmarks) does alike.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

namespace tempos::xdp {

// A libbpf skeleton that its generated X__destroy frees.
template <typename Skeleton>
using SkeletonPtr = std::unique_ptr<Skeleton, void (*)(Skeleton*)>;

// The router and the fan-out take the MoM's UDP port (host order here) and IPv4 address as const volatile
// rodata: the verifier sees known values and the per-packet path reads no map for them. Between X__open() and
// X__load().
template <typename Skeleton>
void set_mom_constants(Skeleton& skeleton, std::uint16_t mom_port, const std::array<std::uint8_t, 4>& mom_ipv4) {
    skeleton.rodata->mom_port = htons(mom_port);
    std::memcpy(&skeleton.rodata->mom_ipv4, mom_ipv4.data(), sizeof(skeleton.rodata->mom_ipv4));
}

// The IPv6 source address of rewritten IPv6 events (the router's and the fan-out's); :: keeps each frame's
// destination as the new source.
template <typename Skeleton>
void set_mom_ipv6(Skeleton& skeleton, const std::array<std::uint8_t, 16>& mom_ipv6) {
    static_assert(sizeof(skeleton.rodata->mom_ipv6) == 16);
    std::memcpy(&skeleton.rodata->mom_ipv6, mom_ipv6.data(), sizeof(skeleton.rodata->mom_ipv6));
}

}  // namespace tempos::xdp
