// Reading the kernel's drop counters of the MoM's namespace: the parsers on the kernel's formats, and a read of
// this process's own files.
#include <gtest/gtest.h>

#include "stack_drops.hpp"

namespace tempos::mom {
namespace {

constexpr const char* kSnmp =
    "Ip: Forwarding DefaultTTL\n"
    "Ip: 1 64\n"
    "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n"
    "Udp: 29 3 7 30 5 2 1 0 0\n"
    "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n"
    "UdpLite: 0 0 99 0 99 0 0 0 0\n";

constexpr const char* kNetdev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier "
    "compressed\n"
    "    lo:    3267      29    0    0    0     0          0         0     3267      29    0    0    0     0       0 0\n"
    "  eth0: 1000 10 1 42 0 0 0 0 2000 20 0 9 0 0 0 0\n"
    "eth0.5:1 1 0 3 0 0 0 0 0 0 0 0 0 0 0 0\n";

TEST(StackDrops, UdpCountersOfTheUdpLineOnly) {
    const auto udp = parse_snmp_udp(kSnmp);
    EXPECT_EQ(udp.at("InErrors"), 7u);
    EXPECT_EQ(udp.at("RcvbufErrors"), 5u);
    EXPECT_EQ(udp.at("SndbufErrors"), 2u);
    EXPECT_EQ(udp.at("InCsumErrors"), 1u);
    EXPECT_EQ(udp.at("InDatagrams"), 29u);
    EXPECT_TRUE(parse_snmp_udp("Ip: 1 2\n").empty());
    EXPECT_TRUE(parse_snmp_udp("Udp: InErrors RcvbufErrors\nUdp: 1\n").empty());  // malformed: no guess
}

TEST(StackDrops, ReceiveDropsOfTheNamedInterface) {
    EXPECT_EQ(parse_netdev_rx_dropped(kNetdev, "eth0"), 42u);
    EXPECT_EQ(parse_netdev_rx_dropped(kNetdev, "lo"), 0u);
    EXPECT_EQ(parse_netdev_rx_dropped(kNetdev, "eth0.5"), 3u);  // no space after the colon
    EXPECT_EQ(parse_netdev_rx_dropped(kNetdev, "eth"), std::nullopt);
    EXPECT_EQ(parse_netdev_rx_dropped(kNetdev, "eth1"), std::nullopt);
}

TEST(StackDrops, ThisProcesssNamespaceIsRead) {
    const StackDrops drops = read_stack_drops("lo");
    for (const char* name : kUdpErrorCounters) EXPECT_TRUE(drops.udp.contains(name)) << name;
    EXPECT_TRUE(drops.interface_rx_dropped.has_value());
    EXPECT_FALSE(read_stack_drops("").interface_rx_dropped.has_value());
}

}  // namespace
}  // namespace tempos::mom
