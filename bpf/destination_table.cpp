#include "destination_table.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "map_ops.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

DestinationTable::DestinationTable(int local_destinations_fd) : fd_(local_destinations_fd) {}

Status DestinationTable::set(const LocalDestinations& wanted) {
    if (wanted.macs.size() > TEMPOS_MAX_LOCAL_MACS || wanted.ipv4.size() > TEMPOS_MAX_LOCAL_IPV4 ||
        wanted.ipv6.size() > TEMPOS_MAX_LOCAL_IPV6)
        return Status::error(ErrorCode::invalid_argument,
                             std::to_string(wanted.macs.size()) + " local MACs, " + std::to_string(wanted.ipv4.size()) +
                                 " local IPv4 and " + std::to_string(wanted.ipv6.size()) +
                                 " IPv6 addresses, the kernel lists hold " + std::to_string(TEMPOS_MAX_LOCAL_MACS) +
                                 ", " + std::to_string(TEMPOS_MAX_LOCAL_IPV4) + " and " +
                                 std::to_string(TEMPOS_MAX_LOCAL_IPV6));
    const std::uint32_t key = 0;
    tempos_local_destinations local{};
    if (bpf_map_lookup_elem(fd_, &key, &local) != 0) return map_error("reading local_destinations", errno);
    const std::uint32_t next = (local.current & 1) ^ 1;
    tempos_local_set& set = local.versions[next];
    set = {};
    for (const Mac& mac : wanted.macs) std::memcpy(&set.macs[set.mac_count++], mac.data(), mac.size());
    for (const Ipv4& ip : wanted.ipv4) std::memcpy(&set.ipv4[set.ipv4_count++], ip.data(), ip.size());
    for (const Ipv6& ip : wanted.ipv6) std::memcpy(set.ipv6[set.ipv6_count++].addr, ip.data(), ip.size());
    // Two updates of the one entry: the first fills the version not in use (the one in use is rewritten with the
    // bytes it holds), the second makes it current.
    if (bpf_map_update_elem(fd_, &key, &local, BPF_ANY) != 0) return map_error("writing local_destinations", errno);
    local.current = next;
    if (bpf_map_update_elem(fd_, &key, &local, BPF_ANY) != 0) return map_error("switching local_destinations", errno);
    return Status::ok();
}

}  // namespace tempos::xdp
