#include "topology/topology.hpp"

#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "topology/command.hpp"
#include "topology/netns.hpp"
#include "topology/world.hpp"
#include "topology/private_netns.hpp"

namespace tempos::testkit {

namespace {

constexpr const char* kNetnsDir = "/run/netns";

// The value `query` returns with the calling thread in namespace `ns`.
template <typename T, typename Query>
Result<T> ask_in(const std::string& ns, Query&& query) {
    std::optional<Result<T>> answer;
    if (Status entered = run_in_netns(ns, [&] {
            answer.emplace(query());
            return Status::ok();
        });
        !entered)
        return entered;
    return std::move(*answer);
}

// Namespace names "<id>-<node>" under /run/netns.
std::vector<std::string> namespaces_of(const std::string& id) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
        const std::string name = entry.path().filename();
        if (name.size() > id.size() + 1 && name.compare(0, id.size() + 1, id + "-") == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

// SIGKILL to every process whose network namespace is /run/netns/NAME (what `ip netns pids` lists).
void kill_processes_in(const std::string& name) {
    struct stat target {};
    if (::stat((std::string(kNetnsDir) + "/" + name).c_str(), &target) != 0) return;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string pid = entry.path().filename();
        if (pid.find_first_not_of("0123456789") != std::string::npos || std::stol(pid) == ::getpid()) continue;
        struct stat ns {};
        if (::stat((entry.path() / "ns" / "net").c_str(), &ns) != 0) continue;
        if (ns.st_dev == target.st_dev && ns.st_ino == target.st_ino) ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
    }
}

// Pids of the kernel's threaded-NAPI threads ("napi/<ifname>-<id>").
std::set<pid_t> napi_threads() {
    std::set<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream comm(entry.path() / "comm");
        std::string c;
        if (std::getline(comm, c) && c.rfind("napi/", 0) == 0) pids.insert(static_cast<pid_t>(std::stol(name)));
    }
    return pids;
}

}  // namespace

std::string Topology::new_id() {
    static std::atomic<int> counter{0};
    return "t" + std::to_string(::getpid()) + "x" + std::to_string(counter++);
}

Topology::Topology(std::string id) : id_(std::move(id)) {}

Topology::~Topology() {
    if (kept_) return;
    if (Status st = destroy(); !st) std::fprintf(stderr, "tempos testkit: removing topology %s: %s\n", id_.c_str(),
                                                 st.message().c_str());
}

Topology::Topology(Topology&& other) noexcept
    : id_(std::move(other.id_)), nodes_(std::move(other.nodes_)), first_ip_(std::move(other.first_ip_)),
      first_ip6_(std::move(other.first_ip6_)), kept_(other.kept_) {
    other.id_.clear();
    other.nodes_.clear();
}

Topology& Topology::operator=(Topology&& other) noexcept {
    if (this != &other) {
        if (!kept_) (void)destroy();
        id_ = std::move(other.id_);
        nodes_ = std::move(other.nodes_);
        first_ip_ = std::move(other.first_ip_);
        first_ip6_ = std::move(other.first_ip6_);
        kept_ = other.kept_;
        other.id_.clear();
        other.nodes_.clear();
    }
    return *this;
}

std::string Topology::ip(const std::string& node) const {
    const auto it = first_ip_.find(node);
    return it == first_ip_.end() ? std::string() : it->second;
}

std::string Topology::ip6(const std::string& node) const {
    const auto it = first_ip6_.find(node);
    return it == first_ip6_.end() ? std::string() : it->second;
}

Status Topology::add_ipv6(const std::string& node, const std::string& ifname, const std::string& address) {
    if (auto added = ip_in(node, {"-6", "addr", "add", address, "dev", ifname, "nodad"}); !added)
        return added.status();
    if (!first_ip6_.count(node)) first_ip6_[node] = address.substr(0, address.find('/'));
    return Status::ok();
}

Result<std::string> Topology::ip_in(const std::string& node, std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "-n", ns(node)});
    return run_command(args);
}

Result<std::string> Topology::exec(const std::string& node, const std::vector<std::string>& argv) const {
    std::vector<std::string> args{"ip", "netns", "exec", ns(node)};
    args.insert(args.end(), argv.begin(), argv.end());
    return run_command(args);
}

Status Topology::add_node(const std::string& node) {
    if (id_.empty()) return Status::error(ErrorCode::invalid_argument, "a topology without an id");
    if (auto added = run_command({"ip", "netns", "add", ns(node)}); !added) return added.status();
    nodes_.push_back(node);
    return ip_in(node, {"link", "set", "lo", "up"}).status();
}

Status Topology::add_bridge(const std::string& bridge) {
    if (std::find(nodes_.begin(), nodes_.end(), world::kLan) == nodes_.end()) {
        if (Status st = add_node(world::kLan); !st) return st;
        // A plain switch (see the header). The sysctls exist only when br_netfilter is loaded.
        for (const char* table : {"iptables", "ip6tables", "arptables"})
            (void)exec(world::kLan, {"sysctl", "-qw", std::string("net.bridge.bridge-nf-call-") + table + "=0"});
    }
    if (auto made = ip_in(world::kLan, {"link", "add", bridge, "type", "bridge"}); !made) return made.status();
    return ip_in(world::kLan, {"link", "set", bridge, "up"}).status();
}

void Topology::note_address(const Interface& end) {
    if (!end.address.empty() && !first_ip_.count(end.node))
        first_ip_[end.node] = end.address.substr(0, end.address.find('/'));
}

Status Topology::configure_end(const Interface& end) {
    if (!end.address.empty())
        if (auto added = ip_in(end.node, {"addr", "add", end.address, "dev", end.ifname}); !added)
            return added.status();
    if (auto up = ip_in(end.node, {"link", "set", end.ifname, "up"}); !up) return up.status();
    note_address(end);
    return set_gro(end.node, end.ifname, true);
}

std::string Topology::bridge_port(const std::string& node, const std::string& ifname) {
    return ("p-" + node + "-" + ifname).substr(0, 15);
}

Status Topology::link_to_bridge(const Interface& end, const std::string& bridge, int queues) {
    const std::string port = bridge_port(end.node, end.ifname);
    if (auto made = run_command(veth_pair_command(ns(end.node), end.ifname, port, ns(world::kLan), queues)); !made)
        return made.status();
    if (auto joined = ip_in(world::kLan, {"link", "set", port, "master", bridge, "up"}); !joined)
        return joined.status();
    return configure_end(end);
}

Status Topology::link(const Interface& a, const Interface& b, int queues) {
    if (auto made = run_command(veth_pair_command(ns(a.node), a.ifname, b.ifname, ns(b.node), queues)); !made)
        return made.status();
    if (Status st = configure_end(a); !st) return st;
    return configure_end(b);
}

Status Topology::set_gro(const std::string& node, const std::string& ifname, bool on) {
    return exec(node, {"ethtool", "-K", ifname, "gro", on ? "on" : "off"}).status();
}

Status Topology::set_tx_checksum(const std::string& node, const std::string& ifname, bool on) {
    return exec(node, {"ethtool", "-K", ifname, "tx", on ? "on" : "off"}).status();
}

Status Topology::attach_peer_pass(const std::string& node, const std::string& ifname) {
    return run_in_netns(ns(node), [&] { return testkit::attach_peer_pass(ifname).prefixed(node); });
}

Status Topology::detach_xdp(const std::string& node, const std::string& ifname) {
    return ip_in(node, {"link", "set", "dev", ifname, "xdp", "off"}).status();
}

Status Topology::add_route(const std::string& node, const std::string& destination, const std::string& via) {
    return ip_in(node, {"route", "add", destination, "via", via}).status();
}

Status Topology::enable_forwarding(const std::string& node) {
    return exec(node, {"sysctl", "-qw", "net.ipv4.ip_forward=1"}).status();
}

Status Topology::pin_napi(const std::string& node, const std::string& ifname, int cpu) const {
    const std::set<pid_t> before = napi_threads();
    if (auto threaded = exec(node, {"sh", "-c", "echo 1 > /sys/class/net/" + ifname + "/threaded"}); !threaded)
        return threaded.status().prefixed("threaded NAPI on " + node + ":" + ifname);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int pinned = 0;
    for (const pid_t pid : napi_threads()) {
        if (before.count(pid)) continue;
        if (::sched_setaffinity(pid, sizeof(set), &set) != 0)
            return Status::error(ErrorCode::system_error, "pinning the NAPI thread of " + node + ":" + ifname + ": " +
                                                              std::strerror(errno));
        ++pinned;
    }
    if (pinned == 0) return Status::error(ErrorCode::not_found, "no NAPI thread appeared for " + node + ":" + ifname);
    return Status::ok();
}

Result<Mac> Topology::mac(const std::string& node, const std::string& ifname) const {
    return ask_in<Mac>(ns(node), [&] { return mac_of(ifname); });
}

Result<std::uint32_t> Topology::ifindex(const std::string& node, const std::string& ifname) const {
    return ask_in<std::uint32_t>(ns(node), [&] { return ifindex_of(ifname); });
}

Result<XdpMode> Topology::xdp_mode(const std::string& node, const std::string& ifname) const {
    return ask_in<XdpMode>(ns(node), [&] { return xdp_mode_of(ifname); });
}

Status Topology::destroy() {
    nodes_.clear();
    first_ip_.clear();
    first_ip6_.clear();
    return destroy_by_id(id_);
}

Status Topology::destroy_by_id(const std::string& id) {
    if (id.empty()) return Status::ok();
    Status result;
    for (const std::string& name : namespaces_of(id)) {
        // Whatever still runs inside (a MoM, a subscriber) goes first, then the namespace with its veths.
        kill_processes_in(name);
        if (auto deleted = run_command({"ip", "netns", "del", name}); !deleted && result) result = deleted.status();
    }
    return result;
}

Result<std::vector<NodeInterfaceDrops>> Topology::drops_by_id(const std::string& id) {
    std::vector<NodeInterfaceDrops> all;
    for (const std::string& name : namespaces_of(id)) {
        const Result<std::vector<InterfaceDrops>> drops =
            ask_in<std::vector<InterfaceDrops>>(name, [] { return interface_drops(); });
        if (!drops) return drops.status().prefixed(name);
        for (const InterfaceDrops& d : *drops) all.push_back({name.substr(id.size() + 1), d});
    }
    return all;
}

void Topology::remove_stale() {
    std::error_code ec;
    std::set<std::string> stale;
    for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, ec)) {
        // "t<pid>x<n>-<node>"
        const std::string name = entry.path().filename();
        const std::size_t x = name.find('x'), dash = name.find('-');
        if (name.size() < 2 || name[0] != 't' || x == std::string::npos || dash == std::string::npos || x > dash)
            continue;
        const std::string pid = name.substr(1, x - 1), n = name.substr(x + 1, dash - x - 1);
        if (pid.empty() || n.empty() || pid.find_first_not_of("0123456789") != std::string::npos ||
            n.find_first_not_of("0123456789") != std::string::npos)
            continue;
        if (::access(("/proc/" + pid).c_str(), F_OK) != 0) stale.insert(name.substr(0, dash));
    }
    for (const std::string& id : stale) (void)destroy_by_id(id);
}

}  // namespace tempos::testkit
