#include "rtnetlink.hpp"

#include <linux/if_link.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "tempos/system_status.hpp"

namespace tempos::xdp {

RtnlRequest::RtnlRequest(std::uint16_t type, std::uint16_t flags)
    : buffer_(MNL_SOCKET_BUFFER_SIZE), header_(mnl_nlmsg_put_header(buffer_.data())) {
    header_->nlmsg_type = type;
    header_->nlmsg_flags = flags;
    header_->nlmsg_seq = 1;
}

Status RtnlRequest::run(const std::string& what, mnl_cb_t callback, void* data) {
    std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)> sock(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC),
                                                                  mnl_socket_close);
    if (!sock) return system_status("netlink socket", errno);
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) return system_status("binding netlink", errno);
    if (mnl_socket_sendto(sock.get(), header_, header_->nlmsg_len) < 0) return system_status(what, errno);
    const unsigned port = mnl_socket_get_portid(sock.get());
    const bool until_ack = (header_->nlmsg_flags & (NLM_F_ACK | NLM_F_DUMP)) != 0;
    std::vector<char> answer(MNL_SOCKET_BUFFER_SIZE);
    for (;;) {
        const ssize_t received = mnl_socket_recvfrom(sock.get(), answer.data(), answer.size());
        if (received < 0) return system_status(what + " (answer)", errno);
        // mnl_cb_run answers MNL_CB_ERROR with errno set for an NLMSG_ERROR that carries an error, MNL_CB_STOP at
        // an ACK or NLMSG_DONE.
        errno = 0;
        const int rc = mnl_cb_run(answer.data(), static_cast<std::size_t>(received), 1, port, callback, data);
        if (rc == MNL_CB_ERROR) return system_status(what, errno ? errno : EPROTO);
        if (rc == MNL_CB_STOP || !until_ack) return Status::ok();
    }
}

int collect_attribute(const nlattr* attr, void* data) {
    auto* attributes = static_cast<NlAttributes*>(data);
    const auto type = mnl_attr_get_type(attr);
    if (type < attributes->by_type.size()) attributes->by_type[type] = attr;
    return MNL_CB_OK;
}

unsigned char address_family(const IpAddress& ip) {
    return std::holds_alternative<Ipv4>(ip) ? AF_INET : AF_INET6;
}

std::size_t put_address(nlmsghdr* msg, std::uint16_t type, const IpAddress& ip) {
    return std::visit(
        [&](const auto& address) {
            mnl_attr_put(msg, type, address.size(), address.data());
            return address.size();
        },
        ip);
}

namespace {
template <typename Address>
Address address_payload(const nlattr* attr) {
    Address address;
    std::memcpy(address.data(), mnl_attr_get_payload(attr), address.size());
    return address;
}
}  // namespace

std::optional<IpAddress> address_attribute(const nlattr* attr) {
    switch (mnl_attr_get_payload_len(attr)) {
        case sizeof(Ipv4): return address_payload<Ipv4>(attr);
        case sizeof(Ipv6): return address_payload<Ipv6>(attr);
        default: return std::nullopt;
    }
}

bool is_vlan_link(const nlattr* linkinfo) {
    if (linkinfo == nullptr) return false;
    NlAttributes info(IFLA_INFO_MAX);
    mnl_attr_parse_nested(linkinfo, collect_attribute, &info);
    const nlattr* kind = info[IFLA_INFO_KIND];
    return kind != nullptr && std::strcmp(mnl_attr_get_str(kind), "vlan") == 0;
}

}  // namespace tempos::xdp
