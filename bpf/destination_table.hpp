// User-space side of bpf/destination.h: the MACs and IPv4 (and, for the router, IPv6) addresses the router and the
// fan-out program take frames for. Operates on the local_destinations map fd of a loaded tempos_router (it does not own it).
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
    explicit DestinationTable(int local_destinations_fd);

    // Makes the programs take exactly `wanted`: written into the version they do not read, then made current, so
    // no frame sees a half-written list and an address present before and after is never missing in between.
    // Whatever an earlier writer (an earlier tempos-mom, through pins) left is replaced whole.
    // Errors: invalid_argument (more than the lists hold), system_error.
    Status set(const LocalDestinations& wanted);

private:
    int fd_;
};

}  // namespace tempos::xdp
