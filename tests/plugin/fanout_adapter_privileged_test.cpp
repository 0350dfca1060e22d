// The adapter's kernel fan-out (docs/fanout.md): the TC program is attached with a tcx link next to the XDP
// router and leaves with close() or the death of the process; a strict topic with several groups leaves the
// MoM's interface as one rewritten copy per group. Each test runs in its own network namespace with a veth pair
// xdp0 (the MoM, 10.0.0.1) <-> xdp1, where frames are injected and the copies captured with AF_PACKET.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "adapter_fixture.hpp"
#include "attach_holder.hpp"
#include "frames/packet_builder.hpp"
#include "privileged.hpp"
#include "process/process.hpp"
#include "topology/command.hpp"
#include "topology/interface.hpp"
#include "topology/netns.hpp"
#include "topology/private_netns.hpp"
#include "tcx.hpp"
#include "tempos/unique_fd.hpp"
#include "tempos/xdp_abi.h"

extern char** environ;

namespace tempos::test {
namespace {

using Frame = std::vector<std::uint8_t>;
using testkit::internet_checksum;
using testkit::PacketBuilder;
constexpr const char* kIface = "xdp0";
constexpr const char* kPeer = "xdp1";
constexpr std::uint16_t kMomPort = 9998;

// Programs attached at tcx ingress of the interface (BPF_PROG_QUERY).
std::uint32_t tcx_programs(const char* iface) {
    __u32 ids[8] = {};
    __u32 count = 8;
    __u32 flags = 0;
    if (bpf_prog_query(static_cast<int>(if_nametoindex(iface)), xdp::kTcxIngress, 0, &flags, ids, &count) != 0)
        return 0;
    return count;
}

bool wait_tcx_programs(const char* iface, std::uint32_t want) {
    return testkit::poll_until([&] { return tcx_programs(iface) == want; }, std::chrono::seconds(2));
}

// Ethernet / IPv4 / UDP with a full UDP checksum, from 10.0.0.9:40000 to the MoM; payload[0] is the topic.
Frame event_frame(const Mac& mom_mac, std::uint8_t topic, std::uint8_t sequence) {
    return PacketBuilder()
        .eth(mom_mac, {0x02, 0xee, 0, 0, 0, 0x09})
        .ipv4({10, 0, 0, 9}, {10, 0, 0, 1})
        .ip_id(static_cast<std::uint16_t>(0x3300 | sequence))
        .udp(40000, kMomPort)
        .payload({topic, sequence, 0x42, 0x43, 0x44})
        .build();
}

// Both checksums of a captured IPv4/UDP frame (no options) verify.
bool checksums_verify(const Frame& f) {
    if (f.size() < 42) return false;
    const std::uint8_t* ip = f.data() + 14;
    const std::uint8_t* udp = ip + 20;
    const std::uint16_t udp_len = static_cast<std::uint16_t>(udp[4] << 8 | udp[5]);
    if (f.size() < 34u + udp_len) return false;
    // The pseudo-header: the addresses' sum (un-complemented), protocol and UDP length.
    const std::uint32_t pseudo = static_cast<std::uint16_t>(~internet_checksum(ip + 12, 8)) + 17u + udp_len;
    return internet_checksum(ip, 20) == 0 && internet_checksum(udp, udp_len, pseudo) == 0;
}

// An AF_PACKET socket on xdp1: sends frames into xdp0 and receives what xdp0 sends out.
class PeerWire {
public:
    PeerWire() {
        fd_ = UniqueFd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_protocol = htons(ETH_P_ALL);
        addr.sll_ifindex = static_cast<int>(if_nametoindex(kPeer));
        ok_ = fd_.get() >= 0 && ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    }
    bool ok() const { return ok_; }
    bool send(const Frame& frame) { return ::send(fd_.get(), frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()); }
    // IPv4 UDP frames not addressed to the MoM's port, until `count` or 1 s.
    std::vector<Frame> copies(std::size_t count) {
        std::vector<Frame> out;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            Frame f(2048);
            sockaddr_ll from{};
            socklen_t len = sizeof(from);
            const ssize_t n = ::recvfrom(fd_.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 42 || from.sll_pkttype == PACKET_OUTGOING) continue;
            f.resize(static_cast<std::size_t>(n));
            if (f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 17) continue;
            if ((f[14 + 20 + 2] << 8 | f[14 + 20 + 3]) == kMomPort) continue;
            out.push_back(std::move(f));
        }
        return out;
    }

private:
    UniqueFd fd_;
    bool ok_ = false;
};

// A counter of the Udp: line of /proc/net/snmp in this namespace.
std::uint64_t snmp_udp(const std::string& field) {
    std::ifstream snmp("/proc/net/snmp");
    std::string header, values, line;
    while (std::getline(snmp, line)) {
        if (line.rfind("Udp:", 0) != 0) continue;
        if (header.empty()) header = line; else values = line;
    }
    std::istringstream h(header), v(values);
    std::string name, value;
    while (h >> name && v >> value)
        if (name == field) return std::stoull(value);
    return 0;
}

class FanoutAdapter : public LoadedXdpAdapterTest {
protected:
    void SetUp() override {
        TEMPOS_REQUIRE_PRIVILEGED();
        ASSERT_EQ(testkit::enter_private_netns().message(), "");
        // Quiet links: no IPv6 chatter among the captured frames.
        for (const char* key : {"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"})
            ASSERT_EQ(testkit::set_sysctl(key, "1").message(), "");
        ASSERT_EQ(testkit::add_veth_pair({.a = kIface, .b = kPeer, .a_addresses = {"10.0.0.1/24"}, .gro_on_b = true})
                      .message(),
                  "");
        const Result<Mac> mom_mac = testkit::mac_of(kIface);
        ASSERT_TRUE(mom_mac) << mom_mac.message();
        mom_mac_ = *mom_mac;
        // The round-robin cursors are per CPU: an injected frame is processed on the sending CPU.
        cpu_set_t cpu;
        CPU_ZERO(&cpu);
        CPU_SET(0, &cpu);
        ASSERT_EQ(sched_setaffinity(0, sizeof(cpu), &cpu), 0);
        LoadedXdpAdapterTest::SetUp();
    }

    Status connect(const std::string& mode = "generic") { return connect_channel(kIface, kMomPort, mode); }
    static Endpoint member(std::uint8_t group, std::uint8_t index) {
        return Endpoint{{10, 0, 0, static_cast<std::uint8_t>(20 + 10 * group + index)},
                        static_cast<std::uint16_t>(7000 + group), Mac{0x02, 0xaa, 0, 0, group, index}};
    }
    TopicStats topic_stats(std::uint8_t id) { return stats_of(id).value_or(TopicStats{}); }

    Mac mom_mac_{};
};

TEST_F(FanoutAdapter, ConnectAttachesTheTcProgramWithATcxLinkAndCloseDetachesIt) {
    EXPECT_EQ(tcx_programs(kIface), 0u);
    const Status connected = connect();
    ASSERT_TRUE(connected) << connected.message();
    EXPECT_EQ(tcx_programs(kIface), 1u);
    // A link, not a legacy filter: tc shows no filter on the interface.
    const Result<std::string> filters = testkit::run_command({"tc", "filter", "show", "dev", "xdp0", "ingress"});
    ASSERT_TRUE(filters) << filters.message();
    EXPECT_EQ(*filters, "");
    EXPECT_EQ(sink_->count(spdlog::level::warn), 0);
    adapter().close();
    EXPECT_TRUE(wait_tcx_programs(kIface, 0));
}

TEST_F(FanoutAdapter, TheTcProgramLeavesWhenTheHolderIsKilled) {
    Result<testkit::Process> held = start_attach_holder(kIface, "generic");
    ASSERT_TRUE(held) << held.message();
    const std::string output = held->output();
    EXPECT_NE(output.find("mode=generic"), std::string::npos) << output;
    EXPECT_EQ(tcx_programs(kIface), 1u);

    ASSERT_TRUE(held->signal(SIGKILL));
    const Result<int> status = held->wait(std::chrono::seconds(10));
    ASSERT_TRUE(status) << status.message();
    EXPECT_EQ(*status, 128 + SIGKILL) << held->how_it_ended();
    EXPECT_TRUE(wait_tcx_programs(kIface, 0)) << "TC program still attached after its holder died";
}

// Three groups (2, 1 and 3 members): every event leaves xdp0 as three copies, one per group, each toward that
// group's round-robin member, with checksums that verify; nothing reaches this namespace's UDP stack.
TEST_F(FanoutAdapter, StrictTopicWithThreeGroupsIsFannedOutOnTheWire) {
    ASSERT_TRUE(connect());
    TopicConfig topic{5, Qos::strict,
                      {SubscriptionGroup{{member(0, 0), member(0, 1)}}, SubscriptionGroup{{member(1, 0)}},
                       SubscriptionGroup{{member(2, 0), member(2, 1), member(2, 2)}}}};
    const Status configured = adapter().configure_qos(topic);
    ASSERT_TRUE(configured) << configured.message();
    EXPECT_EQ(sink_->count(spdlog::level::warn), 0);

    PeerWire wire;
    ASSERT_TRUE(wire.ok());
    const std::uint64_t in_before = snmp_udp("InDatagrams") + snmp_udp("NoPorts");
    constexpr int kEvents = 6;
    for (std::uint8_t e = 0; e < kEvents; ++e) {
        SCOPED_TRACE("event " + std::to_string(e));
        ASSERT_TRUE(wire.send(event_frame(mom_mac_, 5, e)));
        const std::vector<Frame> copies = wire.copies(4);
        ASSERT_EQ(copies.size(), 3u);
        for (std::uint8_t g = 0; g < 3; ++g) {
            const Frame& f = copies[g];
            const Endpoint want = member(g, static_cast<std::uint8_t>(e % topic.groups[g].members.size()));
            EXPECT_EQ(std::memcmp(f.data(), want.mac->data(), 6), 0) << "group " << int(g);
            EXPECT_EQ(std::memcmp(f.data() + 6, mom_mac_.data(), 6), 0);
            EXPECT_EQ(std::memcmp(f.data() + 14 + 16, want.ip.data(), 4), 0);
            const std::uint8_t mom_ip[] = {10, 0, 0, 1};
            EXPECT_EQ(std::memcmp(f.data() + 14 + 12, mom_ip, 4), 0);
            EXPECT_EQ(f[14 + 20 + 2] << 8 | f[14 + 20 + 3], want.port);
            EXPECT_EQ(f[14 + 8], 63) << "TTL decremented";
            EXPECT_EQ(f[14 + 20 + 9], e) << "payload intact";
            EXPECT_TRUE(checksums_verify(f)) << "group " << int(g);
        }
    }
    EXPECT_EQ(snmp_udp("InDatagrams") + snmp_udp("NoPorts"), in_before) << "an original reached the stack";
    const TopicStats stats = topic_stats(5);
    EXPECT_EQ(stats.kernel_packets, 3u * kEvents);
    EXPECT_EQ(stats.kernel_dropped, 0u);
    EXPECT_EQ(stats.socket_sent, 0u);
}

// A topic moving between one group (XDP router) and several (TC fan-out) is served by exactly one of them.
TEST_F(FanoutAdapter, TopicMovesBetweenTheXdpRouteAndTheFanout) {
    ASSERT_TRUE(connect());
    PeerWire wire;
    ASSERT_TRUE(wire.ok());
    const TopicConfig one{6, Qos::strict, {SubscriptionGroup{{member(0, 0)}}}};
    const TopicConfig two{6, Qos::strict, {SubscriptionGroup{{member(0, 0)}}, SubscriptionGroup{{member(1, 0)}}}};
    const std::vector<std::pair<const TopicConfig*, std::size_t>> steps{{&one, 1}, {&two, 2}, {&one, 1}};
    std::uint8_t sequence = 0;
    for (const auto& [config, copies] : steps) {
        SCOPED_TRACE(std::to_string(config->groups.size()) + " groups");
        ASSERT_TRUE(adapter().configure_qos(*config));
        ASSERT_TRUE(wire.send(event_frame(mom_mac_, 6, sequence++)));
        EXPECT_EQ(wire.copies(copies + 1).size(), copies);
    }
    // Removing the topic leaves it to the socket path: no copy from the kernel.
    ASSERT_TRUE(adapter().configure_qos(two));
    ASSERT_TRUE(adapter().remove_topic(6));
    ASSERT_TRUE(wire.send(event_frame(mom_mac_, 6, sequence++)));
    EXPECT_EQ(wire.copies(1).size(), 0u);
}

TEST_F(FanoutAdapter, MoreThanSixteenGroupsAreRefusedAtConfigurationTime) {
    ASSERT_TRUE(connect());
    TopicConfig topic{7, Qos::strict, {}};
    for (std::uint8_t g = 0; g < 17; ++g) topic.groups.push_back(SubscriptionGroup{{member(g, 0)}});
    const Status refused = adapter().configure_qos(topic);
    EXPECT_EQ(refused.code(), ErrorCode::invalid_argument);
    EXPECT_NE(refused.message().find("at most 16"), std::string::npos) << refused.message();
    topic.groups.pop_back();
    const Status sixteen = adapter().configure_qos(topic);
    EXPECT_TRUE(sixteen) << sixteen.message();
    PeerWire wire;
    ASSERT_TRUE(wire.ok());
    ASSERT_TRUE(wire.send(event_frame(mom_mac_, 7, 1)));
    EXPECT_EQ(wire.copies(17).size(), 16u);
}

}  // namespace
}  // namespace tempos::test
