// A reference model of the TC fan-out program's rules (bpf/fanout.bpf.c), for its differential fuzzer
// (fanout_fuzzer.cpp). Written from docs/fanout.md (the program's two passes, what happens per group, the
// counters), docs/config.md (listen: which frames are the MoM's; vlan: copies leave with their egress interface's
// tagging) and include/tempos/xdp_abi.h (the counters) — not from the BPF code. Plain C++ on bytes: no BPF, no
// kernel. Where the documents leave something open the choice is said where it is made (fanout_model.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "frames/packet_builder.hpp"  // Bytes, MacAddr, Ipv4Addr
#include "tempos/xdp_abi.h"

namespace tempos::fuzz {

using testkit::Bytes;
using testkit::Ipv4Addr;
using testkit::MacAddr;

// The program's verdicts, as linux/pkt_cls.h numbers them.
enum class TcVerdict { next = -1, shot = 2, redirect = 7 };

struct FanoutMember {
    Ipv4Addr ip;
    std::uint16_t port;          // host order
    std::optional<MacAddr> mac;  // none: the program asks the FIB (FanoutWorld::fib)
    MacAddr src_mac{};
    std::uint32_t ifindex = 0;   // egress interface; 0: the one the frame arrived on
};

// What the program was told (its load-time constants and maps) and what the kernel around it answers.
struct FanoutWorld {
    std::uint16_t mom_port = 0;
    Ipv4Addr mom_ip{};                // 0.0.0.0: a copy's new source is the frame's own destination
    std::uint32_t ingress_ifindex = 0;
    std::uint32_t gso_segs = 0;       // of the skb: > 1 is a GSO aggregate
    std::set<MacAddr> local_macs;
    std::set<Ipv4Addr> local_ipv4;
    std::map<std::uint8_t, std::vector<std::vector<FanoutMember>>> routes;  // topic -> its groups, in order
    std::set<std::uint8_t> bad_routes;  // a route slot written bypassing FanoutTable (impossible group size)
    // The kernel's FIB and neighbour table for a MAC-less member's address, as for the router: the lookup is made
    // from the member's interface, else the ingress one, and answers only from `lookup_ifindex`; it checks the
    // datagram against the route's `mtu` before the neighbour.
    struct FibAnswer {
        std::optional<MacAddr> mac;  // none: a route but no neighbour
        MacAddr src_mac;
        std::uint32_t ifindex;
        std::uint32_t lookup_ifindex;
        std::size_t mtu;
    };
    std::map<Ipv4Addr, FibAnswer> fib;
    // The devices a copy can be sent to, with the longest frame each transmits (a veth: its peer's MTU plus the
    // Ethernet header and one VLAN tag); a clone toward any other ifindex, or longer, fails.
    std::map<std::uint32_t, std::size_t> devices;
};

struct FanoutResult {
    TcVerdict verdict = TcVerdict::next;
    Bytes output;               // the frame as the program leaves it (for redirect: the last group's copy)
    std::vector<Bytes> clones;  // sent by bpf_clone_redirect, in order
    std::optional<std::uint8_t> topic;  // a fan-out topic's event: its counters below moved
    tempos_fanout_topic_counters topic_counters{};
    std::vector<tempos_fanout_group_counters> group_counters =
        std::vector<tempos_fanout_group_counters>(TEMPOS_MAX_FANOUT_GROUPS);  // rr_next unused
    std::string why;            // the rule that decided, for the mismatch report
};

// The model's state: a round-robin cursor per (topic, group) (the program's are per CPU; the fuzzer stays on one).
class FanoutModel {
public:
    explicit FanoutModel(FanoutWorld world) : world_(std::move(world)) {}
    const FanoutWorld& world() const { return world_; }
    FanoutResult run(const Bytes& frame);
    void reset() { cursors_.clear(); }

private:
    FanoutWorld world_;
    std::map<std::pair<std::uint8_t, std::size_t>, std::size_t> cursors_;
};

}  // namespace tempos::fuzz
