// What the kernel of the MoM's network namespace dropped before tempos-mom could read it: the UDP error counters
// of the namespace (/proc/self/net/snmp: every UDP socket there, tempos-mom's ingress and send sockets included)
// and the receive drops of the MoM's interface (/proc/self/net/dev). Read at each scrape; a loss that happens
// below tempos-mom's own counters shows up here and not only in `ip -s link` or `nstat`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tempos::mom {

// The Udp counters of /proc/net/snmp exported: the ones that mean a datagram was lost.
inline constexpr const char* kUdpErrorCounters[] = {"InErrors", "RcvbufErrors", "SndbufErrors", "InCsumErrors"};

struct StackDrops {
    std::map<std::string, std::uint64_t> udp;    // kUdpErrorCounters present in the file
    std::optional<std::uint64_t> interface_rx_dropped;  // the "drop" column: rx_dropped + rx_missed_errors
};

// The "Udp:" header and value lines of /proc/net/snmp, as name -> value; empty when absent or malformed.
std::map<std::string, std::uint64_t> parse_snmp_udp(std::string_view snmp);
// The receive "drop" column of `interface` in /proc/net/dev; nullopt when the interface is not listed.
std::optional<std::uint64_t> parse_netdev_rx_dropped(std::string_view netdev, std::string_view interface);

// Reads both files of the calling process's network namespace; `interface` "" reads no interface.
StackDrops read_stack_drops(const std::string& interface);

}  // namespace tempos::mom
