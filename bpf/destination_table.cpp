#include "destination_table.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "map_ops.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

namespace {

tempos_mac_key key_of(const Mac& mac) {
    tempos_mac_key key{};
    std::memcpy(key.addr, mac.data(), mac.size());
    return key;
}

std::uint32_t key_of(const Ipv4& ip) {
    std::uint32_t key = 0;
    std::memcpy(&key, ip.data(), ip.size());
    return key;
}

// Adds every wanted key, then deletes those written before and no longer wanted.
template <typename Key, typename Value>
Status sync(int fd, const std::set<Value>& wanted, const std::set<Value>& present, const char* what) {
    const std::uint8_t one = 1;
    for (const Value& v : wanted) {
        const Key key = key_of(v);
        if (bpf_map_update_elem(fd, &key, &one, BPF_ANY) != 0) return map_error(std::string("adding to ") + what, errno);
    }
    for (const Value& v : present) {
        if (wanted.contains(v)) continue;
        const Key key = key_of(v);
        if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT)
            return map_error(std::string("removing from ") + what, errno);
    }
    return Status::ok();
}

}  // namespace

DestinationTable::DestinationTable(int local_macs_fd, int local_ipv4_fd) : macs_fd_(local_macs_fd), ipv4_fd_(local_ipv4_fd) {}

Status DestinationTable::set(const LocalDestinations& wanted) {
    if (wanted.macs.size() > TEMPOS_MAX_LOCAL_MACS || wanted.ipv4.size() > TEMPOS_MAX_LOCAL_IPV4)
        return Status::error(ErrorCode::invalid_argument,
                             std::to_string(wanted.macs.size()) + " local MACs and " +
                                 std::to_string(wanted.ipv4.size()) + " local IPv4 addresses, the kernel maps hold " +
                                 std::to_string(TEMPOS_MAX_LOCAL_MACS) + " and " +
                                 std::to_string(TEMPOS_MAX_LOCAL_IPV4));
    if (Status macs = sync<tempos_mac_key>(macs_fd_, wanted.macs, written_.macs, "local_macs"); !macs) return macs;
    if (Status ips = sync<std::uint32_t>(ipv4_fd_, wanted.ipv4, written_.ipv4, "local_ipv4"); !ips) return ips;
    written_ = wanted;
    return Status::ok();
}

}  // namespace tempos::xdp
