// A subscriber that is the MoM's own listen endpoint makes every event of its topic come straight back in and be
// sent again, forever (a socket-path loop; the kernel path's TTL would end it only after 64 rounds). Refused at
// --check, start and reload, at the member's file:line.
#pragma once

#include <set>

#include "config.hpp"

namespace tempos::mom {

// The IPv4 addresses of this host's interfaces (getifaddrs); empty if they cannot be read.
std::set<Ipv4> host_ipv4_addresses();

// A subscriber loops if its port is the listen port and its address is the listen address, or, when listening on
// 0.0.0.0, any address in 127.0.0.0/8 or in `local_addresses`. The first such member, as "file:line: why".
Status check_no_self_subscriber(const MomConfig& config, const std::set<Ipv4>& local_addresses);

// The same against this host's addresses.
Status check_no_self_subscriber(const MomConfig& config);

}  // namespace tempos::mom
