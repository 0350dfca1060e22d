// What the adapter's BPF programs are loaded and attached with, shared by their requests (xdp_hook.hpp,
// xdp_attachment.hpp, fanout_attachment.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "tempos/adapter.hpp"

namespace tempos::xdp {

// The interface a program is attached to: named in messages, attached by index.
struct AttachTarget {
    std::string interface;
    int ifindex = 0;
};

// The router and the fan-out program rewrite events sent to the MoM: its UDP port and the new IPv4 and IPv6
// sources, set as load-time constants (bpf/skeleton.hpp set_mom_constants, set_mom_ipv6); both persist with the
// same option.
struct ProgramRequest : AttachTarget {
    std::uint16_t mom_port = 0;  // host order
    Ipv4 mom_ipv4{};             // 0.0.0.0: keep each frame's destination as the new source
    Ipv6 mom_ipv6{};             // the same for IPv6 events (::: keep it)
    // Pin the program's link (the router: and its maps) for a restart to take over (docs/restart.md).
    bool persist = false;
};

}  // namespace tempos::xdp
