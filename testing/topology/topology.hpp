// A network of namespaces for tests, e2e scenarios and benchmarks, built with iproute2 and ethtool, and always
// removed: by the destructor, or by destroy_by_id() from another process (the e2e shell, a later run).
//
// A node is a network namespace named "<id>-<node>" with lo up. Nodes are joined by veth pairs, either to each
// other or to a bridge; bridges live in node "lan" (world::kLan). Facts every builder needs, kept here once:
//  - a veth delivers frames sent into it by native XDP_TX/XDP_REDIRECT only if the receiving end runs an XDP
//    program (docs/known-issues.md); bridge ports get the XDP_PASS program bpf/veth_peer_pass.bpf.c
//    (attach_peer_pass) only where a layout is asked for it (BridgedOptions::peer_pass), and GRO stays off on
//    them, as on a user's bridge (with GRO on, a veth without a program queues one ring of such frames that it
//    never delivers, and only then counts the rest as errors);
//  - with br_netfilter loaded, bridged IPv4 would be validated (and defragmented) on the way, hiding malformed
//    frames and fragments from the MoM: the bridges' namespace turns it off;
//  - `ip netns exec` mounts a fresh /sys for the namespace; queries here use sockets and netlink instead.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tempos/adapter.hpp"
#include "tempos/status.hpp"
#include "topology/interface.hpp"

namespace tempos::testkit {

// One end of a veth pair: NODE's interface IFNAME, with an address ("10.77.0.1/24") or none.
struct Interface {
    std::string node;
    std::string ifname;
    std::string address;
};

// An interface that dropped frames, and in which node.
struct NodeInterfaceDrops {
    std::string node;
    InterfaceDrops drops;
};

class Topology {
public:
    // "t<pid>x<n>": unique on this machine while the process lives; remove_stale() recognises it afterwards.
    static std::string new_id();

    Topology() = default;  // empty: owns nothing
    explicit Topology(std::string id);
    ~Topology();  // destroy(), unless keep() was called
    Topology(Topology&& other) noexcept;
    Topology& operator=(Topology&& other) noexcept;
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;

    const std::string& id() const { return id_; }
    // The namespace name of a node: "<id>-<node>".
    std::string ns(const std::string& node) const { return id_ + "-" + node; }
    // Nodes in the order they were added.
    const std::vector<std::string>& nodes() const { return nodes_; }
    // The address (no prefix) of the first interface of `node` that was given one; "" if none.
    std::string ip(const std::string& node) const;
    // The same for IPv6 (add_ipv6); "" if none.
    std::string ip6(const std::string& node) const;

    // Building. Each returns what failed; what was built so far stays until destroy(). Veth queues 0: the
    // kernel's default (one per CPU).
    Status add_node(const std::string& node);
    // A bridge in node "lan", which is created (br_netfilter off) with the first bridge.
    Status add_bridge(const std::string& bridge);
    // A veth from `end` to a port of `bridge` (bridge_port(): "p-<node>-<ifname>", cut to 15 characters); GRO on
    // at `end`, the port left as the kernel makes it.
    Status link_to_bridge(const Interface& end, const std::string& bridge, int queues = 0);
    static std::string bridge_port(const std::string& node, const std::string& ifname);
    // A veth pair between two nodes, GRO on at both ends.
    Status link(const Interface& a, const Interface& b, int queues = 0);
    Status set_gro(const std::string& node, const std::string& ifname, bool on);
    // Transmit checksum offload, on by default. Off, a veth computes UDP checksums in software; on, its datagrams
    // carry only the pseudo-header sum (CHECKSUM_PARTIAL).
    Status set_tx_checksum(const std::string& node, const std::string& ifname, bool on);
    // bpf/veth_peer_pass (XDP_PASS, native mode): stays attached until the namespace goes.
    Status attach_peer_pass(const std::string& node, const std::string& ifname);
    // Detaches whatever XDP program NODE's IFNAME runs (attach_peer_pass's included); none attached is fine.
    Status detach_xdp(const std::string& node, const std::string& ifname);
    // An IPv6 address ("fd77::1/64") on an interface that exists, without duplicate address detection (nodad):
    // usable at once, no wait for DAD to end.
    Status add_ipv6(const std::string& node, const std::string& ifname, const std::string& address);
    // Either family (`ip route` tells them apart by the addresses).
    Status add_route(const std::string& node, const std::string& destination, const std::string& via);
    Status enable_forwarding(const std::string& node);
    // Threaded NAPI on NODE's IFNAME with its kernel thread(s) pinned to `cpu`: that interface's receive work
    // (XDP program or stack) then runs on that CPU, whoever transmitted into it.
    Status pin_napi(const std::string& node, const std::string& ifname, int cpu) const;
    // argv run in NODE's namespace (`ip netns exec`); its stdout.
    Result<std::string> exec(const std::string& node, const std::vector<std::string>& argv) const;

    // Asked inside NODE's namespace.
    Result<Mac> mac(const std::string& node, const std::string& ifname) const;
    Result<std::uint32_t> ifindex(const std::string& node, const std::string& ifname) const;
    Result<XdpMode> xdp_mode(const std::string& node, const std::string& ifname) const;
    // Every interface of every node, with its drop counters.
    Result<std::vector<NodeInterfaceDrops>> drops() const { return drops_by_id(id_); }

    // The destructor leaves the namespaces in place (the CLI hands them to a shell, which destroys them by id).
    void keep() { kept_ = true; }
    Status destroy();

    // Kills whatever runs in the namespaces "<id>-*" and deletes them; works from any process.
    static Status destroy_by_id(const std::string& id);
    static Result<std::vector<NodeInterfaceDrops>> drops_by_id(const std::string& id);
    // Destroys the topologies (ids of new_id()'s form) whose creating process is gone: a run that was killed.
    static void remove_stale();

private:
    Result<std::string> ip_in(const std::string& node, std::vector<std::string> args) const;
    Status configure_end(const Interface& end);
    void note_address(const Interface& end);

    std::string id_;
    std::vector<std::string> nodes_;
    std::map<std::string, std::string> first_ip_;
    std::map<std::string, std::string> first_ip6_;
    bool kept_ = false;
};

}  // namespace tempos::testkit
