#include "bench_network.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

namespace tempos::bench {

bool run_shell(const std::string& command, std::string* output) {
    if (!output) return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
    FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
    if (!p) return false;
    char buf[4096];
    output->clear();
    while (std::size_t n = std::fread(buf, 1, sizeof(buf), p)) output->append(buf, n);
    return pclose(p) == 0;
}

BenchNetwork::~BenchNetwork() { destroy(); }

void BenchNetwork::destroy() {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        // Whatever still runs inside (a MoM, a subscriber) goes first, then the namespace with its veths.
        run_shell("ip netns pids " + *it + " | xargs -r kill -9");
        run_shell("ip netns del " + *it);
    }
    created_.clear();
}

// Namespaces a killed bench left behind (its pid is gone) are removed before new ones are made.
void remove_stale_namespaces() {
    std::string list;
    run_shell("ip netns list", &list);
    std::istringstream lines(list);
    std::string name;
    while (lines >> name) {
        if (name.rfind("tbench", 0) != 0) continue;
        const std::string pid = name.substr(6, name.find('-') - 6);
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
        if (access(("/proc/" + pid).c_str(), F_OK) == 0) continue;
        run_shell("ip netns pids " + name + " | xargs -r kill -9");
        run_shell("ip netns del " + name);
    }
}

std::string BenchNetwork::create(const BenchNetworkOptions& o) {
    remove_stale_namespaces();
    prefix_ = "tbench" + std::to_string(getpid()) + "-";
    std::vector<std::string> nodes{"pub", "mom", "sub1"};
    if (o.with_sub2) nodes.push_back("sub2");
    for (const std::string& n : nodes) {
        if (!run_shell("ip netns add " + ns(n))) return "ip netns add " + ns(n);
        created_.push_back(ns(n));
        if (!run_shell("ip -n " + ns(n) + " link set lo up")) return "lo up in " + ns(n);
    }
    struct Link {
        std::string a, a_if, a_addr, b, b_if, b_addr;
    };
    std::vector<Link> links{{"pub", "eth0", "10.77.0.1/24", "mom", "eth0", "10.77.0.2/24"},
                            {"mom", "eth1", "10.78.0.2/24", "sub1", "eth0", "10.78.0.11/24"}};
    if (o.with_sub2) links.push_back({"mom", "eth2", "10.79.0.2/24", "sub2", "eth0", "10.79.0.12/24"});
    if (o.with_direct) links.push_back({"pub", "eth1", "10.76.0.1/24", "sub1", "eth1", "10.76.0.11/24"});
    for (const Link& l : links) {
        const std::string na = ns(l.a), nb = ns(l.b);
        const std::string q = " numtxqueues " + std::to_string(o.queues) + " numrxqueues " + std::to_string(o.queues);
        if (!run_shell("ip -n " + na + " link add " + l.a_if + q + " type veth peer name " + l.b_if + q + " netns " +
                       nb))
            return "veth " + l.a + ":" + l.a_if + " - " + l.b + ":" + l.b_if;
        for (const auto& [n, ifname, addr] : {std::tuple{na, l.a_if, l.a_addr}, std::tuple{nb, l.b_if, l.b_addr}}) {
            if (!run_shell("ip -n " + n + " addr add " + addr + " dev " + ifname) ||
                !run_shell("ip -n " + n + " link set " + ifname + " up") ||
                !run_shell("ip netns exec " + n + " ethtool -K " + ifname + " gro on"))
                return "configuring " + n + ":" + ifname;
        }
        // The publisher computes full UDP checksums, as frames from a real wire carry them. With veth's default
        // checksum offload its datagrams carry only the pseudo-header sum (CHECKSUM_PARTIAL); native XDP sees
        // that raw field, the router's incremental update keeps it partial, and the subscriber's stack drops
        // the datagram (InCsumErrors) -- measured here, a veth-only artefact.
        if (l.a == "pub" && !run_shell("ip netns exec " + na + " ethtool -K " + l.a_if + " tx off"))
            return "checksum offload off on pub:" + l.a_if;
    }
    std::vector<std::string> routes{"ip -n " + ns("pub") + " route add 10.78.0.0/24 via 10.77.0.2",
                                    "ip -n " + ns("sub1") + " route add 10.77.0.0/24 via 10.78.0.2",
                                    "ip netns exec " + ns("mom") + " sysctl -qw net.ipv4.ip_forward=1"};
    if (o.with_sub2) {
        routes.push_back("ip -n " + ns("pub") + " route add 10.79.0.0/24 via 10.77.0.2");
        routes.push_back("ip -n " + ns("sub2") + " route add 10.77.0.0/24 via 10.79.0.2");
    }
    for (const std::string& r : routes)
        if (!run_shell(r)) return r;
    return {};
}

std::string BenchNetwork::mac(const std::string& node, const std::string& ifname) const {
    std::string out;
    if (!run_shell("ip netns exec " + ns(node) + " cat /sys/class/net/" + ifname + "/address", &out)) return {};
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

std::array<std::uint8_t, 6> BenchNetwork::mac_bytes(const std::string& node, const std::string& ifname) const {
    std::array<std::uint8_t, 6> bytes{};
    unsigned v[6] = {};
    const std::string text = mac(node, ifname);
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6)
        for (int i = 0; i < 6; ++i) bytes[i] = static_cast<std::uint8_t>(v[i]);
    return bytes;
}

std::string BenchNetwork::xdp_attached(const std::string& node, const std::string& ifname) const {
    std::string out;
    run_shell("ip -n " + ns(node) + " link show dev " + ifname, &out);
    if (out.find("xdpgeneric") != std::string::npos) return "generic";
    if (out.find(" xdp") != std::string::npos) return "native";
    return "none";
}

namespace {
// Pids of the kernel's threaded-NAPI threads ("napi/<ifname>-<id>").
std::set<pid_t> napi_threads() {
    std::set<pid_t> pids;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream comm(entry.path() / "comm");
        std::string c;
        if (std::getline(comm, c) && c.rfind("napi/", 0) == 0) pids.insert(static_cast<pid_t>(std::stol(name)));
    }
    return pids;
}
}  // namespace

std::string BenchNetwork::pin_napi(const std::string& node, const std::string& ifname, int cpu) const {
    const std::set<pid_t> before = napi_threads();
    if (!run_shell("ip netns exec " + ns(node) + " sh -c 'echo 1 > /sys/class/net/" + ifname + "/threaded'"))
        return "threaded NAPI on " + node + ":" + ifname;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int pinned = 0;
    for (const pid_t pid : napi_threads()) {
        if (before.count(pid)) continue;
        if (sched_setaffinity(pid, sizeof(set), &set) != 0)
            return "pinning the NAPI thread of " + node + ":" + ifname + ": " + std::strerror(errno);
        ++pinned;
    }
    return pinned > 0 ? std::string() : "no NAPI thread appeared for " + node + ":" + ifname;
}

NetnsGuard::NetnsGuard(const std::string& ns_name) {
    original_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = open(("/run/netns/" + ns_name).c_str(), O_RDONLY | O_CLOEXEC);
    if (original_ < 0 || target < 0) {
        error_ = "opening the namespace " + ns_name + ": " + std::strerror(errno);
    } else if (setns(target, CLONE_NEWNET) != 0) {
        error_ = "setns " + ns_name + ": " + std::strerror(errno);
    }
    if (target >= 0) close(target);
}

NetnsGuard::~NetnsGuard() {
    if (original_ < 0) return;
    if (error_.empty()) setns(original_, CLONE_NEWNET);
    close(original_);
}

}  // namespace tempos::bench
