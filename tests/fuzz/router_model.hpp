// A reference model of the XDP topic router's rules (bpf/router.bpf.c), for the differential fuzzer
// (router_fuzzer.cpp). Written from the documented rules — docs/config.md (listen: which frames are the MoM's),
// docs/isolation.md (best-effort cpumap, admission), docs/known-issues.md (CHECKSUM_PARTIAL), docs/inspect.md and
// include/tempos/xdp_abi.h (the pass reasons), docs/ipv6.md (IPv6: extension headers, families), and the fixture table (testing/frames/router_fixtures.cpp) for what
// outputs look like — not from the BPF code. Where the documents leave an order open the choice is said at its
// step in router_model.cpp. Plain C++ on bytes: no BPF, no kernel.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model_common.hpp"  // Member, FibAnswer, the shared parsing and rewrite rules

namespace tempos::fuzz {

// The XDP verdicts, numbered as in linux/bpf.h.
enum class Verdict { aborted = 0, drop = 1, pass = 2, tx = 3, redirect = 4 };

// What the router was told: its load-time constants and the content of its maps.
struct ModelWorld {
    std::uint16_t mom_port = 0;
    Ipv4Addr mom_ip{};          // 0.0.0.0: a routed frame's new source is its own destination
    Ipv6Addr mom_ip6{};         // the same for IPv6 (::)
    bool generic = false;       // attached in generic (skb) mode
    bool best_effort_cpumap = false;
    std::uint32_t ingress_ifindex = 0;   // where the frame arrived
    std::set<std::uint32_t> egress_ports;  // the other interfaces the router may redirect to
    std::map<std::uint32_t, std::size_t> device_mtu;  // of the devices in egress_ports (IPv4 datagram bytes)
    // Egress interfaces that are VLAN sub-interfaces (docs/config.md#vlan): their frames leave `lower` with one
    // tag (tpid, vid); every other egress untagged, whatever tags the frame arrived with.
    struct EgressVlan {
        std::uint32_t lower;
        std::uint16_t tpid;
        std::uint16_t vid;
    };
    std::map<std::uint32_t, EgressVlan> egress_vlans;
    // The kernel's FIB answers for MAC-less members' addresses (model_common.hpp); any other address: no answer.
    std::map<Ipv4Addr, FibAnswer> fib;
    std::map<Ipv6Addr, FibAnswer> fib6;
    std::set<MacAddr> local_macs;
    std::set<Ipv4Addr> local_ipv4;
    std::set<Ipv6Addr> local_ipv6;
    std::vector<std::vector<Member>> routes = std::vector<std::vector<Member>>(256);  // empty: no route
    std::set<std::uint8_t> zero_member_routes;  // a route published with count 0 (a broken writer)
    std::set<std::uint8_t> fanout_topics;
    std::set<std::uint8_t> strict_topics;       // topic_classes: strict (never the best-effort CPUs)
    std::set<std::uint8_t> spent_topics;        // a rate limit whose bucket is spent: over it
    std::set<Ipv4Addr> spent_publishers;        // the publisher limit's bucket of these sources is spent
    std::set<Ipv6Addr> spent_publishers6;       // the same for IPv6 sources (an IPv4-mapped one: spent_publishers)
};

// The counter one frame moves (tempos_topic_counters: exactly one per frame).
enum class Counter { redirected, aborted, passed, best_effort_offered, policed };

struct ModelResult {
    Verdict verdict = Verdict::pass;
    Bytes output;
    std::uint32_t slot = 256;  // TEMPOS_NO_TOPIC_SLOT for frames without a topic
    Counter counter = Counter::passed;
    int reason = 0;            // tempos_pass_reason for passed, tempos_police_reason for policed
    int member = -1;           // the member chosen, when routed
    std::string why;           // the rule that decided, for the mismatch report
};

// The model's state: one round-robin cursor per topic (the router's are per CPU; the fuzzer stays on one).
class RouterModel : public ModelOver<ModelWorld> {
public:
    using ModelOver::ModelOver;
    ModelResult run(const Bytes& frame);
    void reset() { cursor_.assign(256, 0); }

private:
    ModelResult run_ipv6(const Bytes& frame, std::size_t l3);
    // The chosen member's next hop and way out, or the result that passes the frame (nullopt: route it).
    std::optional<ModelResult> resolve(std::uint8_t topic, Member& m, const FibAnswer* answer, std::size_t ip_len,
                                       bool partial, std::size_t udp_len, std::uint32_t& device,
                                       std::optional<ModelWorld::EgressVlan>& tag) const;
    std::vector<std::uint32_t> cursor_ = std::vector<std::uint32_t>(256, 0);
};

}  // namespace tempos::fuzz
