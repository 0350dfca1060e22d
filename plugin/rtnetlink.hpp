// One rtnetlink request and its answer, through libmnl: the adapter's interface, route and neighbour queries
// (device_xdp_info, network_interface) all go through it.
#pragma once

#include <libmnl/libmnl.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "network_interface.hpp"
#include "tempos/status.hpp"

namespace tempos::xdp {

// A request being built: mnl_nlmsg_put_header() over a buffer of MNL_SOCKET_BUFFER_SIZE.
class RtnlRequest {
public:
    RtnlRequest(std::uint16_t type, std::uint16_t flags);
    nlmsghdr* header() { return header_; }
    template <typename Extra>
    Extra* extra() {
        return static_cast<Extra*>(mnl_nlmsg_put_extra_header(header_, sizeof(Extra)));
    }

    // Sends it on a socket of its own and runs `callback` on every answer until the kernel's last message (an
    // NLMSG_ERROR carrying 0 or an error, or a dump's NLMSG_DONE; a plain reply without NLM_F_ACK ends after the
    // first datagram). An NLMSG_ERROR with an error becomes a Status with `what` and its errno.
    Status run(const std::string& what, mnl_cb_t callback, void* data);

private:
    std::vector<char> buffer_;
    nlmsghdr* header_;
};

// A message's attributes by type (the last of each type wins), filled by mnl_attr_parse(..., collect_attribute,
// &attributes) or mnl_attr_parse_nested.
struct NlAttributes {
    std::vector<const nlattr*> by_type;
    explicit NlAttributes(std::size_t max) : by_type(max + 1, nullptr) {}
    const nlattr* operator[](std::size_t type) const { return type < by_type.size() ? by_type[type] : nullptr; }
};
int collect_attribute(const nlattr* attr, void* data);

// AF_INET or AF_INET6.
unsigned char address_family(const IpAddress& ip);
// Appends `ip` to `msg` as attribute `type` (RTA_DST, NDA_DST); returns its length in bytes (4 or 16).
std::size_t put_address(nlmsghdr* msg, std::uint16_t type, const IpAddress& ip);
// An address attribute (RTA_GATEWAY, NDA_DST) of either family; nullopt for any other payload length.
std::optional<IpAddress> address_attribute(const nlattr* attr);

// Whether IFLA_LINKINFO (may be null) says the link is a VLAN device.
bool is_vlan_link(const nlattr* linkinfo);

}  // namespace tempos::xdp
