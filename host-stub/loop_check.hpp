// A subscriber that is the MoM's own listen endpoint makes every event of its topic come straight back in and be
// sent again, forever (a socket-path loop; the kernel path's TTL would end it only after 64 rounds). Refused at
// --check, start and reload, at the member's file:line.
#pragma once

#include <set>

#include "config.hpp"

namespace tempos::mom {

// The addresses of this host's interfaces (getifaddrs); empty if they cannot be read.
struct HostAddresses {
    std::set<Ipv4> ipv4;
    std::set<Ipv6> ipv6;
};
HostAddresses host_addresses();

// A subscriber loops if its port is the listen port and its address is one the listener receives on: the listen
// address itself, or with a wildcard listen (0.0.0.0, [::]) any loopback address (127.0.0.0/8, ::1) or address in
// `local` of a family the listener takes ([::] takes IPv4 too unless v6only). The first such member, as
// "file:line: why".
Status check_no_self_subscriber(const MomConfig& config, const HostAddresses& local);

// The same against this host's addresses.
Status check_no_self_subscriber(const MomConfig& config);

}  // namespace tempos::mom
