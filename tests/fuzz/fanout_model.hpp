// A reference model of the TC fan-out program's rules (bpf/fanout.bpf.c), for its differential fuzzer
// (fanout_fuzzer.cpp). Written from docs/fanout.md (the program's two passes, what happens per group, the
// counters), docs/config.md (listen: which frames are the MoM's; vlan: copies leave with their egress interface's
// tagging), docs/ipv6.md (IPv6: the router's rules, one family per topic) and include/tempos/xdp_abi.h (the
// counters) — not from the BPF code. The parsing rules and the IPv6 rewrite are the router model's
// (model_common.hpp). Plain C++ on bytes: no BPF, no kernel. Where the documents leave something open the choice
// is said where it is made (fanout_model.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model_common.hpp"  // Member, FibAnswer, the shared parsing and rewrite rules
#include "tempos/xdp_abi.h"

namespace tempos::fuzz {

// The program's verdicts, as linux/pkt_cls.h numbers them.
enum class TcVerdict { next = -1, shot = 2, redirect = 7 };

// What the program was told (its load-time constants and maps) and what the kernel around it answers.
struct FanoutWorld {
    std::uint16_t mom_port = 0;
    Ipv4Addr mom_ip{};                // 0.0.0.0: a copy's new source is the frame's own destination
    Ipv6Addr mom_ip6{};               // the same for IPv6 (::)
    std::uint32_t ingress_ifindex = 0;
    std::uint32_t gso_segs = 0;       // of the skb: > 1 is a GSO aggregate
    std::set<MacAddr> local_macs;
    std::set<Ipv4Addr> local_ipv4;
    std::set<Ipv6Addr> local_ipv6;
    std::map<std::uint8_t, std::vector<std::vector<Member>>> routes;  // topic -> its groups, in order
    std::set<std::uint8_t> bad_routes;  // a route slot written bypassing FanoutTable (impossible group size)
    // The kernel's FIB and neighbour table for a MAC-less member's address, as for the router (model_common.hpp).
    std::map<Ipv4Addr, FibAnswer> fib;
    std::map<Ipv6Addr, FibAnswer> fib6;
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
class FanoutModel : public ModelOver<FanoutWorld> {
public:
    using ModelOver::ModelOver;
    FanoutResult run(const Bytes& frame);
    void reset() { cursors_.clear(); }

private:
    std::map<std::pair<std::uint8_t, std::size_t>, std::size_t> cursors_;
};

}  // namespace tempos::fuzz
