// The XDP topic router's packet fixtures as data (Katran's fixtures idea): each row is a frame, the action and
// the frame the router must return, and the one counter the frame must move. One tester runs them all: the BPF
// tests (tests/bpf/router_fixtures_test.cpp) check every row against a freshly loaded router; `tempos-bench
// prog` times the rows' frames. Every row runs against the standard routes installed below.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "best_effort_table.hpp"
#include "destination_table.hpp"
#include "frames/frame_world.hpp"
#include "frames/packet_builder.hpp"
#include "tempos/status.hpp"
#include "tempos/xdp_abi.h"

struct tempos_router;

namespace tempos::testkit {

// The load-time constants (rodata) of the router and the fan-out program: the MoM's port and address; and the
// router's attach mode as the adapter tells it (bss attached_generic, bpf/udp_csum_partial.h), set after load.
struct MomConstants {
    std::uint16_t port = world::kMomPort;  // host order
    Ipv4Addr ip = world::kMomIp;           // 0.0.0.0: keep the frame's destination as the new source
    bool generic = false;                  // the router runs as if attached in generic (skb) mode
    // The router's best_effort_cpu_count: CPUs 0..n-1 get a cpumap entry (install_standard_routes); 0: off.
    std::uint32_t best_effort_cpus = 0;
    Ipv6Addr ip6 = world::kMomIp6;  // ::: keep the frame's destination as the new source (IPv6 events)
    bool operator==(const MomConstants&) const = default;
};

struct RouterFixture {
    std::string name;
    std::string description;
    Bytes input;
    int expected_action;  // XDP_TX, XDP_REDIRECT, XDP_PASS
    Bytes expected_output;
    // The counter: slot `counter_slot` of topic_counters must read `counter` afterwards, every other slot zero.
    std::uint32_t counter_slot;
    tempos_topic_counters counter{};
    MomConstants mom{};  // the router's constants the row runs with
    // The row's member is reached through a second interface (the routes' `second_interface`).
    bool needs_second_interface = false;
};

// Every row, names unique.
std::vector<RouterFixture> router_fixtures();

// The frames of the row that proves a computed UDP checksum 0 is sent as 0xffff: the input, and the expected
// output whose checksum computed in full is 0 (payload bytes chosen to cancel the sum).
std::pair<PacketBuilder, PacketBuilder> checksum_zero_pair();
// The same for IPv6 (kTopicSingle6 to kSubA6), or for `event` (IPv6) toward `sub` (the fan-out's tests).
std::pair<PacketBuilder, PacketBuilder> checksum_zero_pair6();
std::pair<PacketBuilder, PacketBuilder> checksum_zero_pair6(const PacketBuilder& event, const world::Subscriber6& sub);
// An IPv6 event of kTopicBestEffort whose complete UDP checksum equals the field a CHECKSUM_PARTIAL sender would
// leave (the pseudo-header sum): the 1-in-65536 coincidence the router cannot tell from a partial datagram.
PacketBuilder checksum_equal_to_partial6();
// An IPv6 event of `topic` whose complete UDP checksum computes to `check` (payload bytes 2..3 chosen; 0 is sent
// as 0xffff).
PacketBuilder event6_with_checksum(std::uint8_t topic, std::uint16_t check);

// A member of a route (port in host order); without a MAC the router resolves it with bpf_fib_lookup.
tempos_endpoint endpoint(const Ipv4Addr& ip, std::uint16_t port, std::optional<MacAddr> mac, const MacAddr& src_mac,
                         std::uint32_t ifindex = 0);
tempos_endpoint endpoint(const Ipv6Addr& ip, std::uint16_t port, std::optional<MacAddr> mac, const MacAddr& src_mac,
                         std::uint32_t ifindex = 0);

// The fds of a loaded tempos_router's maps (not owned).
struct RouterMaps {
    int topic_routes;
    int topic_counters;
    int egress_ports;
    int fanout_routes;
    xdp::BestEffortMaps best_effort;
    int topic_limits;
    int topic_buckets;
    int pub_buckets;
    int local_destinations;
    int egress_vlans;
};
RouterMaps router_maps(const tempos_router& router);

// The router's load-time constants (rodata), between tempos_router__open() and __load().
void set_router_constants(tempos_router& router, const MomConstants& mom);

// What the adapter would put in local_destinations for the synthetic MoM: kMomMac and kOtherNicMac,
// kMomIp, kMomIpAlias and kMomIpNearZero, kMomIp6 and kMomIp6Alias. A frame to any other MAC or address is
// TEMPOS_PASS_NOT_FOR_US.
xdp::LocalDestinations standard_local_destinations();
Status install_local_destinations(int local_destinations_fd);

// egress_vlans: frames whose egress is `vlan_ifindex` leave through `lower_ifindex` tagged (tpid, vid); host order.
struct EgressVlan {
    std::uint32_t lower_ifindex;
    std::uint16_t tpid;
    std::uint16_t vid;
};
Status install_egress_vlan(const RouterMaps& maps, std::uint32_t vlan_ifindex, const EgressVlan& vlan);

// A limit of 1 event/s on `topic` whose bucket is spent (its schedule half the clock's range ahead): every event
// of the topic is over it.
Status install_spent_topic_limit(const RouterMaps& maps, std::uint8_t topic);

// Installs the standard routes of frame_world.hpp's topics, and every routed, fanned-out or kTopicStrictSocket
// topic's class as strict; with mom.best_effort_cpus, CPUs 0..n-1 in the best-effort cpumap; the limits that
// put kTopicPoliced, kPolicedPublisherIp and kPolicedPublisherIp6 over theirs. `second_interface` is the ifindex through which
// kTopicOtherNic's member is reached (put in egress_ports); 0: none, that topic stays unrouted and the rows
// that need it cannot run.
Status install_standard_routes(const RouterMaps& maps, std::uint32_t second_interface,
                               const MomConstants& mom = {});

}  // namespace tempos::testkit
