// The test kit's topologies (testing/topology): each layout builds, its nodes reach each other with a UDP
// datagram over the addresses of world.hpp, and destroying leaves no namespace and no process behind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "privileged.hpp"
#include "tempos/unique_fd.hpp"
#include "topology/layouts.hpp"
#include "topology/netns.hpp"
#include "topology/world.hpp"

extern char** environ;

namespace tempos::test {
namespace {

namespace world = testkit::world;
constexpr std::uint16_t kPort = 47000;

// The namespaces under /run/netns named "<id>-*".
int namespaces_of(const std::string& id) {
    int count = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec))
        if (entry.path().filename().string().rfind(id + "-", 0) == 0) ++count;
    return count;
}

// A UDP socket created in `ns`, bound to ip:port (ip empty: not bound).
UniqueFd udp_socket_in(const std::string& ns, const std::string& ip, std::uint16_t port) {
    UniqueFd fd;
    const Status made = testkit::run_in_netns(ns, [&] {
        fd = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (fd.get() < 0) return Status::error(ErrorCode::system_error, "socket");
        if (ip.empty()) return Status::ok();
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
        if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
            return Status::error(ErrorCode::system_error, "bind " + ip);
        return Status::ok();
    });
    EXPECT_TRUE(made) << made.message();
    return fd;
}

// Sends one datagram from node `from` to `to_ip` in node `to` and says whether it arrived (within 5 s: the
// first datagram waits for ARP).
::testing::AssertionResult datagram_arrives(const testkit::Topology& t, const std::string& from,
                                            const std::string& to, const std::string& to_ip) {
    const UniqueFd receiver = udp_socket_in(t.ns(to), to_ip, kPort);
    const UniqueFd sender = udp_socket_in(t.ns(from), "", 0);
    if (receiver.get() < 0 || sender.get() < 0) return ::testing::AssertionFailure() << "no sockets";
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(kPort);
    ::inet_pton(AF_INET, to_ip.c_str(), &dst.sin_addr);
    const std::string payload = from + " to " + to;
    if (::sendto(sender.get(), payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&dst),
                 sizeof(dst)) != static_cast<ssize_t>(payload.size()))
        return ::testing::AssertionFailure() << "sendto " << to_ip << ": " << std::strerror(errno);
    pollfd p{receiver.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return ::testing::AssertionFailure() << payload << " (" << to_ip << "): nothing";
    char buf[128] = {};
    const ssize_t n = ::recv(receiver.get(), buf, sizeof(buf), 0);
    if (n != static_cast<ssize_t>(payload.size()) || payload != std::string(buf, static_cast<std::size_t>(n)))
        return ::testing::AssertionFailure() << payload << ": received something else";
    return ::testing::AssertionSuccess();
}

TEST(Topology, OneLeggedPutsEveryNodeOnOneSegment) {
    TEMPOS_REQUIRE_PRIVILEGED();
    auto built = testkit::one_legged(2);
    ASSERT_TRUE(built) << built.message();
    const testkit::Topology& t = *built;
    EXPECT_EQ(t.nodes(), (std::vector<std::string>{"lan", "pub", "mom", "sub1", "sub2"}));
    EXPECT_EQ(t.ip("pub"), world::bridged::kPubIp);
    EXPECT_EQ(t.ip("mom"), world::bridged::kMomIp);
    EXPECT_EQ(t.ip("sub2"), "10.77.0.12");
    EXPECT_TRUE(datagram_arrives(t, "pub", "mom", world::bridged::kMomIp));
    EXPECT_TRUE(datagram_arrives(t, "mom", "sub1", t.ip("sub1")));
    EXPECT_TRUE(datagram_arrives(t, "sub2", "pub", world::bridged::kPubIp));
}

TEST(Topology, TwoLeggedRoutesThePublisherThroughTheMom) {
    TEMPOS_REQUIRE_PRIVILEGED();
    auto built = testkit::two_legged(1, {.forwarding = true});
    ASSERT_TRUE(built) << built.message();
    const testkit::Topology& t = *built;
    EXPECT_EQ(t.ip("sub1"), "10.78.0.11");
    EXPECT_TRUE(datagram_arrives(t, "pub", "sub1", "10.78.0.11"));
    EXPECT_TRUE(datagram_arrives(t, "sub1", "pub", world::bridged::kPubIp));
    EXPECT_TRUE(datagram_arrives(t, "sub1", "mom", world::bridged::kMomEgressIp));
}

TEST(Topology, PointToPointReachesEachSubscriberThroughItsOwnLink) {
    TEMPOS_REQUIRE_PRIVILEGED();
    namespace p2p = world::point_to_point;
    auto built = testkit::point_to_point({.with_sub2 = true, .with_direct = true, .queues = 2});
    ASSERT_TRUE(built) << built.message();
    const testkit::Topology& t = *built;
    EXPECT_EQ(t.nodes(), (std::vector<std::string>{"pub", "mom", "sub1", "sub2"}));
    EXPECT_TRUE(datagram_arrives(t, "pub", "mom", p2p::kMomIp));
    EXPECT_TRUE(datagram_arrives(t, "pub", "sub1", p2p::kSub1Ip));
    EXPECT_TRUE(datagram_arrives(t, "pub", "sub2", p2p::kSub2Ip));
    EXPECT_TRUE(datagram_arrives(t, "pub", "sub1", p2p::kSub1DirectIp));
    const auto queues = t.exec("pub", {"cat", "/sys/class/net/eth0/queues/rx-1/rps_cpus"});
    EXPECT_TRUE(queues) << "eth0 has a second receive queue: " << queues.message();
}

TEST(Topology, QueriesAnswerFromInsideTheNode) {
    TEMPOS_REQUIRE_PRIVILEGED();
    auto built = testkit::one_legged(1);
    ASSERT_TRUE(built) << built.message();
    const testkit::Topology& t = *built;
    // A user's topology: no program on a bridge port, none on the nodes' own interfaces.
    const auto port = t.xdp_mode(world::kLan, "p-mom-eth0");
    ASSERT_TRUE(port) << port.message();
    EXPECT_EQ(*port, testkit::XdpMode::none);
    const auto own = t.xdp_mode("sub1", "eth0");
    ASSERT_TRUE(own) << own.message();
    EXPECT_EQ(*own, testkit::XdpMode::none);
    // Every node has its own eth0: the MAC must be the one `ip netns exec` (its own /sys) shows for that node.
    for (const char* node : {"pub", "mom", "sub1"}) {
        const auto mac = t.mac(node, "eth0");
        ASSERT_TRUE(mac) << mac.message();
        const auto sysfs = t.exec(node, {"cat", "/sys/class/net/eth0/address"});
        ASSERT_TRUE(sysfs) << sysfs.message();
        EXPECT_EQ(testkit::mac_text(*mac) + "\n", *sysfs) << node;
    }
    EXPECT_FALSE(t.mac("pub", "eth9"));
    const auto drops = t.drops();
    ASSERT_TRUE(drops) << drops.message();
    int eth0s = 0;
    for (const testkit::NodeInterfaceDrops& d : *drops) eth0s += d.drops.ifname == "eth0";
    EXPECT_EQ(eth0s, 3) << "pub, mom and sub1 each report their eth0";
}

// The defaults are a user's container host; each option changes exactly its one thing.
TEST(Topology, BridgedOptionsAddOnlyWhatTheyName) {
    TEMPOS_REQUIRE_PRIVILEGED();
    auto tx_checksum = [](const testkit::Topology& t) {
        const auto features = t.exec("pub", {"ethtool", "-k", "eth0"});
        return features && features->find("tx-checksumming: on") != std::string::npos;
    };
    auto forwarding = [](const testkit::Topology& t) {
        const auto value = t.exec("mom", {"cat", "/proc/sys/net/ipv4/ip_forward"});
        return value && *value == "1\n";
    };
    // The XDP mode of the program on each bridge port of the MoM.
    auto mom_ports = [](const testkit::Topology& t, bool two) {
        std::vector<testkit::XdpMode> modes;
        for (const char* ifname : {"eth0", "eth1"}) {
            if (!two && std::string(ifname) == "eth1") continue;
            const auto port = t.xdp_mode(world::kLan, testkit::Topology::bridge_port("mom", ifname));
            modes.push_back(port ? *port : testkit::XdpMode::multiple);
        }
        return modes;
    };
    for (const bool two : {false, true}) {
        auto plain = two ? testkit::two_legged(1) : testkit::one_legged(1);
        ASSERT_TRUE(plain) << plain.message();
        EXPECT_TRUE(tx_checksum(*plain));
        EXPECT_FALSE(forwarding(*plain));
        EXPECT_EQ(mom_ports(*plain, two), std::vector<testkit::XdpMode>(two ? 2 : 1, testkit::XdpMode::none));

        const testkit::BridgedOptions all{.peer_pass = true, .publisher_tx_csum_off = true, .forwarding = true};
        auto built = two ? testkit::two_legged(1, all) : testkit::one_legged(1, all);
        ASSERT_TRUE(built) << built.message();
        EXPECT_FALSE(tx_checksum(*built));
        EXPECT_TRUE(forwarding(*built));
        EXPECT_EQ(mom_ports(*built, two), std::vector<testkit::XdpMode>(two ? 2 : 1, testkit::XdpMode::native));
        const auto sub_port = built->xdp_mode(world::kLan, testkit::Topology::bridge_port("sub1", "eth0"));
        ASSERT_TRUE(sub_port) << sub_port.message();
        EXPECT_EQ(*sub_port, testkit::XdpMode::none) << "only the MoM's ports carry the peer program";
    }
}

TEST(Topology, DestroyByIdKillsWhatRunsInsideAndDeletesEveryNamespace) {
    TEMPOS_REQUIRE_PRIVILEGED();
    auto built = testkit::one_legged(2);
    ASSERT_TRUE(built) << built.message();
    testkit::Topology t = std::move(*built);
    t.keep();  // as the CLI does: only destroy_by_id may remove it
    const std::string id = t.id();
    ASSERT_EQ(namespaces_of(id), 5);
    const std::string ns = t.ns("sub1");
    const char* argv[] = {"ip", "netns", "exec", ns.c_str(), "sleep", "600", nullptr};
    pid_t pid = -1;
    ASSERT_EQ(::posix_spawnp(&pid, "ip", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
    // `ip netns exec` execs sleep in place once it is inside: wait until the pid sits in the namespace.
    bool inside = false;
    for (int i = 0; i < 200 && !inside; ++i) {
        std::error_code ec;
        inside = std::filesystem::equivalent("/proc/" + std::to_string(pid) + "/ns/net", "/run/netns/" + ns, ec);
        if (!inside) ::usleep(10'000);
    }
    ASSERT_TRUE(inside);
    ASSERT_TRUE(testkit::Topology::destroy_by_id(id));
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    EXPECT_EQ(namespaces_of(id), 0);
}

TEST(Topology, TheDestructorRemovesTheNamespaces) {
    TEMPOS_REQUIRE_PRIVILEGED();
    std::string id;
    {
        auto built = testkit::two_legged(1);
        ASSERT_TRUE(built) << built.message();
        id = built->id();
        EXPECT_EQ(namespaces_of(id), 4);
    }
    EXPECT_EQ(namespaces_of(id), 0);
}

TEST(Topology, StaleTopologiesOfDeadProcessesAreRemoved) {
    TEMPOS_REQUIRE_PRIVILEGED();
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
    const std::string id = "t" + std::to_string(dead) + "x0";
    {
        testkit::Topology left(id);
        ASSERT_TRUE(left.add_node("pub"));
        left.keep();  // as a killed run leaves it
    }
    ASSERT_EQ(namespaces_of(id), 1);
    testkit::Topology::remove_stale();
    EXPECT_EQ(namespaces_of(id), 0);
}

TEST(Topology, AFailedBuildLeavesNothing) {
    TEMPOS_REQUIRE_PRIVILEGED();
    const std::string id = testkit::Topology::new_id();
    testkit::Topology first(id);
    ASSERT_TRUE(first.add_node("pub"));
    // The same id again: its pub node exists already, so the layout fails and removes what it built (all of id).
    auto second = testkit::one_legged(1, {}, id);
    EXPECT_FALSE(second);
    EXPECT_NE(second.message().find(id), std::string::npos) << second.message();
    EXPECT_EQ(namespaces_of(id), 0);
}

}  // namespace
}  // namespace tempos::test
