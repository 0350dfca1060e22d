// Who holds XDP on an interface before the router attaches. XDP has one program per interface and mode (or one
// libxdp dispatcher that runs several): the adapter never displaces one it did not attach. It names it (program
// name, id, mode) in a `busy` error and leaves it where it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tempos/status.hpp"

namespace tempos::xdp {

struct XdpOccupant {
    std::uint32_t id = 0;
    std::string name;  // empty when the kernel would not say (reading a program by id needs CAP_SYS_ADMIN)
    std::string mode;  // "native", "generic" or "offload"
};

// The XDP programs attached to `ifindex`, at most one per mode. Errors: system_error (the netlink query failed).
Result<std::vector<XdpOccupant>> xdp_occupants(int ifindex);

// "xdpfilt_alw_all (id 42, native)", or "a program (id 42, native; its name needs CAP_SYS_ADMIN to read)".
std::string describe(const XdpOccupant& occupant);

// ErrorCode::busy: "XDP on IF is held by ... : left attached; <advice>".
Status occupied_error(const std::string& interface, const std::vector<XdpOccupant>& occupants,
                      const std::string& advice);

}  // namespace tempos::xdp
