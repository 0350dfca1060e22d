// The live kernel state of a running MoM on one interface, read from the kernel by the programs' and maps' ids:
// the attached XDP router and TC fan-out program, each topic's routes and the per-CPU counters summed. Layouts
// come from include/tempos/xdp_abi.h and the map definitions in bpf/router_maps.h and bpf/fanout_maps.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tempos/status.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::inspect {

// enum tempos_pass_reason as the names tempos-inspect prints (table and JSON).
inline constexpr std::array<const char*, TEMPOS_PASS_REASONS> kPassReasonNames = {
    "not_ipv4", "malformed", "fragment", "not_our_port", "no_payload",
    "not_strict", "ttl", "fib", "no_egress", "fanout", "partial_csum", "not_for_us", "too_big",
    "ext_header", "family"};
// enum tempos_police_reason, as in tempos_policed_events_total{reason}.
inline constexpr std::array<const char*, TEMPOS_POLICE_REASONS> kPoliceReasonNames = {"topic_rate", "publisher_rate",
                                                                                      "contended"};

struct AttachedProgram {
    std::uint32_t id = 0;
    std::string name;
};

enum class XdpAttachMode { native, generic, offload };
const char* to_string(XdpAttachMode mode);

struct Interface {
    int ifindex = 0;
    std::string name;
};

// One subscriber of a route (struct tempos_endpoint), decoded.
struct Member {
    std::string ip;
    std::uint16_t port = 0;
    // With TEMPOS_EP_HAS_MAC the route carries both MACs and the egress interface; without, the router resolves
    // them per packet (bpf_fib_lookup) and these stay empty.
    std::optional<std::string> mac;
    std::optional<std::string> src_mac;
    std::optional<Interface> egress;
};

// A slot's counters summed over the possible CPUs (rr_next reads as 0), and how many CPUs redirected at least
// one packet: each CPU keeps its own round-robin cursor, so a group's split is exact to ±1 per such CPU.
struct TopicCounters {
    tempos_topic_counters sum{};
    std::uint32_t redirecting_cpus = 0;
};

struct FanoutGroup {
    std::vector<Member> members;
    // Zero when no fan-out program is attached. copying_cpus: CPUs that sent this group at least one copy.
    tempos_fanout_group_counters counters{};
    std::uint32_t copying_cpus = 0;
};

struct TopicState {
    std::uint32_t topic = 0;
    std::vector<Member> strict_members;  // the topic's route in topic_routes; empty: XDP passes the topic
    std::vector<FanoutGroup> groups;     // its route in fanout_routes; empty: not fanned out
    TopicCounters counters;
    std::optional<tempos_fanout_topic_counters> fanout_counters;  // when a fan-out program is attached
    std::optional<tempos_rate_limit> limit;                       // its admission limit (docs/isolation.md)
};

// An egress_vlans entry (bpf/egress_vlan.h, docs/config.md#vlan): events whose egress is the VLAN sub-interface
// `vlan` leave through `lower` with one tag (tpid, vid), written by the router.
struct EgressVlan {
    Interface vlan;
    Interface lower;
    std::uint16_t tpid = 0;  // host order: 0x8100 (802.1Q) or 0x88a8 (802.1ad)
    std::uint16_t vid = 0;   // the VLAN id (the tci's low 12 bits; the router writes priority and DEI 0)
};

// A CPU of the best-effort cpumap and its queue size (frames).
struct BestEffortCpu {
    std::uint32_t cpu = 0;
    std::uint32_t queue = 0;
};

struct RouterState {
    Interface interface;
    int possible_cpus = 0;
    AttachedProgram router;
    XdpAttachMode mode = XdpAttachMode::native;
    std::optional<AttachedProgram> fanout;  // the TC fan-out program (tcx ingress) sharing the router's routes
    std::vector<Interface> egress_ports;    // egress_ports: interfaces other than the ingress one
    std::vector<EgressVlan> egress_vlans;   // egress_vlans, by VLAN ifindex
    std::vector<TopicState> topics;
    TopicCounters no_topic;  // slot TEMPOS_NO_TOPIC_SLOT: frames without a topic
    std::vector<BestEffortCpu> best_effort_cpus;      // empty: best-effort frames are passed (isolation off)
    std::optional<tempos_rate_limit> publisher_limit;  // every source IPv4's limit for best-effort events
};

// Reads the state of the MoM whose router is attached to `interface` in this network namespace. `topics` lists
// the topics to report (0..TEMPOS_MAX_TOPICS-1), each even when idle; empty: every topic with a route or a
// non-zero counter. Errors: not_found when no XDP program is attached; unsupported when the attached program is
// not the tempos router (or has another ABI); permission_denied naming the capability.
Result<RouterState> read_router_state(const std::string& interface, std::span<const std::uint32_t> topics);

}  // namespace tempos::inspect
