#include "destination_table.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

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

// Every key of a hash map.
template <typename Key>
Status keys_of(int fd, std::vector<Key>& keys, const char* what) {
    keys.clear();
    Key key{}, next{};
    const Key* previous = nullptr;
    for (;;) {
        if (bpf_map_get_next_key(fd, previous, &next) != 0) {
            if (errno == ENOENT) return Status::ok();
            return map_error(std::string("listing ") + what, errno);
        }
        keys.push_back(next);
        key = next;
        previous = &key;
    }
}

// Adds every wanted key, then deletes the others.
template <typename Key, typename Value>
Status sync(int fd, const std::set<Value>& wanted, const char* what) {
    const std::uint8_t one = 1;
    std::vector<Key> present;
    for (const Value& v : wanted) {
        const Key key = key_of(v);
        if (bpf_map_update_elem(fd, &key, &one, BPF_ANY) != 0) return map_error(std::string("adding to ") + what, errno);
    }
    if (Status listed = keys_of(fd, present, what); !listed) return listed;
    for (const Key& key : present) {
        bool keep = false;
        for (const Value& v : wanted) {
            const Key k = key_of(v);
            keep = keep || std::memcmp(&k, &key, sizeof key) == 0;
        }
        if (!keep && bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT)
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
    if (Status macs = sync<tempos_mac_key>(macs_fd_, wanted.macs, "local_macs"); !macs) return macs;
    return sync<std::uint32_t>(ipv4_fd_, wanted.ipv4, "local_ipv4");
}

Result<LocalDestinations> DestinationTable::read() const {
    LocalDestinations out;
    std::vector<tempos_mac_key> macs;
    std::vector<std::uint32_t> ips;
    if (Status listed = keys_of(macs_fd_, macs, "local_macs"); !listed) return listed;
    if (Status listed = keys_of(ipv4_fd_, ips, "local_ipv4"); !listed) return listed;
    for (const tempos_mac_key& k : macs) {
        Mac mac{};
        std::memcpy(mac.data(), k.addr, mac.size());
        out.macs.insert(mac);
    }
    for (std::uint32_t k : ips) {
        Ipv4 ip{};
        std::memcpy(ip.data(), &k, ip.size());
        out.ipv4.insert(ip);
    }
    return out;
}

}  // namespace tempos::xdp
