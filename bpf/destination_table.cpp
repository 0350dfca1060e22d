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

tempos_ipv6_key key_of(const Ipv6& ip) {
    tempos_ipv6_key key{};
    std::memcpy(key.addr, ip.data(), ip.size());
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

// Every key of a hash map (keys zeroed before the kernel fills them: valgrind sees them initialised).
template <typename Key>
Result<std::vector<Key>> keys_of(int fd, const char* what) {
    std::vector<Key> keys;
    Key key{};
    Key next{};
    for (const Key* previous = nullptr; bpf_map_get_next_key(fd, previous, &next) == 0; previous = &key) {
        keys.push_back(next);
        key = next;
        if (keys.size() > 4096) break;  // bounded: the maps hold at most TEMPOS_MAX_LOCAL_IPV4 entries
    }
    if (errno != ENOENT) return map_error(std::string("reading ") + what, errno);
    return keys;
}

}  // namespace

Status DestinationTable::take_present() {
    Result<std::vector<tempos_mac_key>> macs = keys_of<tempos_mac_key>(macs_fd_, "local_macs");
    if (!macs) return macs.status();
    Result<std::vector<std::uint32_t>> ipv4 = keys_of<std::uint32_t>(ipv4_fd_, "local_ipv4");
    if (!ipv4) return ipv4.status();
    written_ = {};
    for (const tempos_mac_key& key : *macs) {
        Mac mac{};
        std::memcpy(mac.data(), key.addr, mac.size());
        written_.macs.insert(mac);
    }
    for (const std::uint32_t key : *ipv4) {
        Ipv4 ip{};
        std::memcpy(ip.data(), &key, ip.size());
        written_.ipv4.insert(ip);
    }
    if (ipv6_fd_ < 0) return Status::ok();
    Result<std::vector<tempos_ipv6_key>> ipv6 = keys_of<tempos_ipv6_key>(ipv6_fd_, "local_ipv6");
    if (!ipv6) return ipv6.status();
    for (const tempos_ipv6_key& key : *ipv6) {
        Ipv6 ip{};
        std::memcpy(ip.data(), key.addr, ip.size());
        written_.ipv6.insert(ip);
    }
    return Status::ok();
}

DestinationTable::DestinationTable(int local_macs_fd, int local_ipv4_fd, int local_ipv6_fd)
    : macs_fd_(local_macs_fd), ipv4_fd_(local_ipv4_fd), ipv6_fd_(local_ipv6_fd) {}

Status DestinationTable::set(const LocalDestinations& wanted) {
    if (wanted.macs.size() > TEMPOS_MAX_LOCAL_MACS || wanted.ipv4.size() > TEMPOS_MAX_LOCAL_IPV4 ||
        wanted.ipv6.size() > TEMPOS_MAX_LOCAL_IPV6)
        return Status::error(ErrorCode::invalid_argument,
                             std::to_string(wanted.macs.size()) + " local MACs, " + std::to_string(wanted.ipv4.size()) +
                                 " local IPv4 and " + std::to_string(wanted.ipv6.size()) +
                                 " IPv6 addresses, the kernel maps hold " + std::to_string(TEMPOS_MAX_LOCAL_MACS) +
                                 ", " + std::to_string(TEMPOS_MAX_LOCAL_IPV4) + " and " +
                                 std::to_string(TEMPOS_MAX_LOCAL_IPV6));
    if (Status macs = sync<tempos_mac_key>(macs_fd_, wanted.macs, written_.macs, "local_macs"); !macs) return macs;
    if (Status ips = sync<std::uint32_t>(ipv4_fd_, wanted.ipv4, written_.ipv4, "local_ipv4"); !ips) return ips;
    if (ipv6_fd_ >= 0) {
        if (Status ips = sync<tempos_ipv6_key>(ipv6_fd_, wanted.ipv6, written_.ipv6, "local_ipv6"); !ips) return ips;
    }
    written_ = wanted;
    return Status::ok();
}

}  // namespace tempos::xdp
