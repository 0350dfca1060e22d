#include "xdp_occupant.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstring>

namespace tempos::xdp {

namespace {

// The kernel's name of program `id`, or "" when it is gone or the process may not open it by id.
std::string program_name(std::uint32_t id) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) return {};
    bpf_prog_info info{};
    std::uint32_t length = sizeof(info);
    const bool read = bpf_obj_get_info_by_fd(fd, &info, &length) == 0;
    ::close(fd);
    return read ? std::string(info.name) : std::string();
}

}  // namespace

Result<std::vector<XdpOccupant>> xdp_occupants(int ifindex) {
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (const int err = bpf_xdp_query(ifindex, 0, &query); err != 0)
        return Status::error(ErrorCode::system_error,
                             "querying the XDP programs of ifindex " + std::to_string(ifindex) + ": " +
                                 std::strerror(-err));
    std::vector<XdpOccupant> occupants;
    for (const auto& [id, mode] : {std::pair{query.drv_prog_id, "native"}, std::pair{query.skb_prog_id, "generic"},
                                   std::pair{query.hw_prog_id, "offload"}}) {
        if (id != 0) occupants.push_back({id, program_name(id), mode});
    }
    return occupants;
}

std::string describe(const XdpOccupant& occupant) {
    const std::string where = "id " + std::to_string(occupant.id) + ", " + occupant.mode;
    if (occupant.name.empty()) return "a program (" + where + "; its name needs CAP_SYS_ADMIN to read)";
    return occupant.name + " (" + where + ")";
}

Status occupied_error(const std::string& interface, const std::vector<XdpOccupant>& occupants,
                      const std::string& advice) {
    std::string held;
    for (const XdpOccupant& occupant : occupants) held += (held.empty() ? "" : ", ") + describe(occupant);
    return Status::error(ErrorCode::busy, "XDP on " + interface + " is held by another program: " + held +
                                              "; left attached, the router was not attached" +
                                              (advice.empty() ? "" : "; " + advice));
}

}  // namespace tempos::xdp
