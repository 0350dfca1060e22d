// User-space side of bpf/destination.h and destination6.h: the MACs and IPv4 and IPv6 addresses the router and
// the fan-out program take frames for. Operates on the map fds of a loaded tempos_router (it does not own them).
#pragma once

#include <set>

#include "tempos/adapter.hpp"

namespace tempos::xdp {

struct LocalDestinations {
    std::set<Mac> macs;
    std::set<Ipv4> ipv4;
    std::set<Ipv6> ipv6;
    bool operator==(const LocalDestinations&) const = default;
};

class DestinationTable {
public:
    // local_ipv6_fd -1: a program without that map (the fan-out serves IPv4 only), whose set() leaves ipv6 aside.
    DestinationTable(int local_macs_fd, int local_ipv4_fd, int local_ipv6_fd = -1);

    // Makes both maps hold exactly `wanted`, given that they held what the previous set() wrote (fresh maps:
    // nothing): new entries are added before stale ones are deleted, so an address present before and after is
    // never missing in between. Errors: invalid_argument (more than the maps hold), system_error.
    Status set(const LocalDestinations& wanted);
    // Takes what the maps hold now as written by a previous set(): for maps reused from pins (docs/restart.md),
    // so that the next set() deletes what an earlier tempos-mom wrote and is no longer wanted.
    Status take_present();

private:
    int macs_fd_;
    int ipv4_fd_;
    int ipv6_fd_;
    LocalDestinations written_;
};

}  // namespace tempos::xdp
