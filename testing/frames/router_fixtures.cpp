#include "frames/router_fixtures.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <set>
#include <utility>

#include "admission_table.hpp"
#include "map_ops.hpp"
#include "route_table.hpp"
#include "skeleton.hpp"
#include "tempos_router.skel.h"
#include "tempos/unique_fd.hpp"

namespace tempos::testkit {

using namespace world;

namespace {

RouterFixture routed(std::string name, std::string description, int action, const PacketBuilder& in,
                     const PacketBuilder& out, std::uint8_t topic, MomConstants mom = {}) {
    RouterFixture f{std::move(name), std::move(description), in.build(), action, out.build(), topic, {}, mom};
    f.counter.redirected_packets = 1;
    f.counter.redirected_bytes = f.input.size();
    return f;
}

// The frame goes to the stack untouched, byte for byte.
RouterFixture passed(std::string name, std::string description, Bytes input, std::uint32_t slot, int reason,
                     MomConstants mom = {}) {
    Bytes expected = input;
    RouterFixture f{std::move(name), std::move(description), std::move(input), XDP_PASS, std::move(expected), slot,
                    {}, mom};
    f.counter.passed[reason] = 1;
    return f;
}

PacketBuilder tweaked(std::uint8_t topic, const std::function<void(PacketBuilder&)>& tweak) {
    PacketBuilder b = event(topic);
    tweak(b);
    return b;
}

Bytes tweaked_frame(std::uint8_t topic, const std::function<void(PacketBuilder&)>& tweak) {
    return tweaked(topic, tweak).build();
}

tempos_endpoint with_mac(const Subscriber& s, std::uint32_t ifindex = 0, const MacAddr& src = kMomMac) {
    return endpoint(s.ip, s.port, s.mac, src, ifindex);
}

tempos_endpoint with_mac6(const Subscriber6& s, std::uint32_t ifindex = 0) {
    return endpoint(s.ip, s.port, s.mac, kMomMac, ifindex);
}

tempos_route route_of(std::initializer_list<tempos_endpoint> members) {
    tempos_route route{};
    for (const tempos_endpoint& m : members) route.subs[route.count++] = m;
    return route;
}

Status errno_status(const std::string& what) {
    return Status::error(ErrorCode::system_error, what + ": " + std::strerror(errno));
}

// Publishes an inner map by hand, the way only a buggy writer would: count 0.
Status install_bad_route(const RouterMaps& maps, std::uint8_t topic) {
    UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "bad_route", 4, sizeof(tempos_route), 1, nullptr));
    if (inner.get() < 0) return errno_status("bpf_map_create");
    tempos_route bad{};
    bad.subs[0] = with_mac(kSubA);
    const std::uint32_t zero = 0, key = topic;
    const int inner_fd = inner.get();
    if (bpf_map_update_elem(inner.get(), &zero, &bad, BPF_ANY) != 0 ||
        bpf_map_update_elem(maps.topic_routes, &key, &inner_fd, BPF_ANY) != 0)
        return errno_status("bad route");
    return Status::ok();
}

// What the adapter's FanoutTable does for a fanned-out topic: an inner map in fanout_routes (the router only looks
// the topic up there, so the members do not matter).
Status install_fanout_topic(const RouterMaps& maps, std::uint8_t topic) {
    UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "fanout_topic", 4, sizeof(tempos_fanout_member),
                                  TEMPOS_FANOUT_SLOTS, nullptr));
    if (inner.get() < 0) return errno_status("bpf_map_create");
    return xdp::publish_inner_map(maps.fanout_routes, topic, inner.get(), "fan-out");
}

// kTopicPoliced gets a limit, and every publisher the highest one (no row, however often it runs, reaches it);
// kTopicPoliced's, kPolicedPublisherIp's and kPolicedPublisherIp6's buckets are spent (schedules half the clock's
// range ahead), so only those are over their limits.
Status install_standard_limits(const RouterMaps& maps) {
    xdp::AdmissionTable limits(maps.topic_limits);
    if (Status st = limits.set(TEMPOS_PUBLISHER_LIMIT_SLOT, RateLimit{1'000'000'000, 1'000'000'000}); !st) return st;
    if (Status st = install_spent_topic_limit(maps, kTopicPoliced); !st) return st;
    const tempos_bucket spent{~0ULL >> 1};
    for (const tempos_source_key& source : {xdp::source_key(kPolicedPublisherIp), xdp::source_key(kPolicedPublisherIp6)})
        if (bpf_map_update_elem(maps.pub_buckets, &source, &spent, BPF_ANY) != 0) return errno_status("spent bucket");
    return Status::ok();
}

}  // namespace

Status install_egress_vlan(const RouterMaps& maps, std::uint32_t vlan_ifindex, const EgressVlan& vlan) {
    tempos_egress_vlan value{vlan.lower_ifindex, htons(vlan.tpid), htons(vlan.vid)};
    if (bpf_map_update_elem(maps.egress_vlans, &vlan_ifindex, &value, BPF_ANY) != 0)
        return errno_status("egress_vlans update");
    return Status::ok();
}

Status install_spent_topic_limit(const RouterMaps& maps, std::uint8_t topic) {
    if (Status st = xdp::AdmissionTable(maps.topic_limits).set(topic, RateLimit{1, 1}); !st) return st;
    const tempos_bucket spent{~0ULL >> 1};
    const std::uint32_t key = topic;
    if (bpf_map_update_elem(maps.topic_buckets, &key, &spent, BPF_ANY) != 0) return errno_status("spent topic bucket");
    return Status::ok();
}

namespace {

// Payload bytes 2..3 are set to the checksum obtained with them at zero, which cancels the sum. `l3_len`: the IP
// header's length in `event`'s frames.
template <typename Subscriber_>
std::pair<PacketBuilder, PacketBuilder> zero_sum_pair(const PacketBuilder& event, const Subscriber_& sub,
                                                      std::size_t l3_len) {
    Bytes payload{0, 0x55, 0, 0, 'z', 'e', 'r', 'o'};
    PacketBuilder in = event;
    payload[0] = in.build()[14 + l3_len + 8];  // the event's topic
    in.payload(payload);
    const Bytes probe_out = forwarded(in, sub).build();
    const std::size_t udp_check_at = 14 + l3_len + 6;
    payload[2] = probe_out[udp_check_at];
    payload[3] = probe_out[udp_check_at + 1];
    in.payload(payload);
    return {in, forwarded(in, sub)};
}

}  // namespace

std::pair<PacketBuilder, PacketBuilder> checksum_zero_pair() { return zero_sum_pair(event(kTopicSingle), kSubA, 20); }

std::pair<PacketBuilder, PacketBuilder> checksum_zero_pair6() { return checksum_zero_pair6(event6(kTopicSingle6), kSubA6); }

std::pair<PacketBuilder, PacketBuilder> checksum_zero_pair6(const PacketBuilder& event, const Subscriber6& sub) {
    return zero_sum_pair(event, sub, 40);
}

PacketBuilder event6_with_checksum(std::uint8_t topic, std::uint16_t check) {
    constexpr std::size_t kCheckAt = 14 + 40 + 6;
    const auto field = [](const PacketBuilder& b) {
        const Bytes frame = b.build();
        return static_cast<std::uint16_t>(frame[kCheckAt] << 8 | frame[kCheckAt + 1]);
    };
    Bytes payload{topic, 0x55, 0, 0, 'c', 'h', 'e', 'c', 'k'};
    PacketBuilder b = event6(topic);
    b.payload(payload);
    // With payload bytes 2..3 (an aligned 16-bit word) at 0 the complete checksum is c0 = ~s; a word w makes it
    // ~(s + w), which is `check` for w = ~check + c0 (one's complement sums).
    std::uint32_t w = static_cast<std::uint16_t>(~check) + static_cast<std::uint32_t>(field(b));
    while (w >> 16) w = (w & 0xffff) + (w >> 16);
    payload[2] = static_cast<std::uint8_t>(w >> 8);
    payload[3] = static_cast<std::uint8_t>(w);
    return b.payload(payload);
}

PacketBuilder checksum_equal_to_partial6() {
    constexpr std::size_t kCheckAt = 14 + 40 + 6;
    // The partial field depends on the addresses and the length only, not on the payload's bytes.
    const Bytes probe = event6_with_checksum(kTopicBestEffort, 0).udp_checksum_partial().build();
    return event6_with_checksum(kTopicBestEffort, static_cast<std::uint16_t>(probe[kCheckAt] << 8 | probe[kCheckAt + 1]));
}

namespace {

// The best-effort rows: the router loaded with one best-effort CPU (CPU 0 in the cpumap). BPF_PROG_TEST_RUN
// reports XDP_REDIRECT without performing it, so only best_effort_offered moves.
RouterFixture to_cpumap(std::string name, std::string description, const PacketBuilder& in, const PacketBuilder& out,
                        std::uint8_t topic) {
    RouterFixture f{std::move(name), std::move(description), in.build(), XDP_REDIRECT, out.build(), topic};
    f.mom.best_effort_cpus = 1;
    f.counter.best_effort_offered = 1;
    return f;
}

RouterFixture with_cpumap(RouterFixture f, std::string name, std::string description) {
    f.name = std::move(name);
    f.description = std::move(description);
    f.mom.best_effort_cpus = 1;
    return f;
}

RouterFixture policed(std::string name, std::string description, const PacketBuilder& in, std::uint8_t topic,
                      int reason) {
    RouterFixture f{std::move(name), std::move(description), in.build(), XDP_DROP, in.build(), topic};
    f.counter.policed[reason] = 1;
    return f;
}

// The admission rows (bpf/admission.h): the standard limits make kTopicPoliced's bucket and kPolicedPublisherIp's
// bucket spent (their schedules far ahead of any clock), every other publisher within its limit. Refill, bursts
// and concurrency need sequences of frames and a clock: tests/bpf/admission_test.cpp.
std::vector<RouterFixture> admission_rows() {
    const auto from_policed = [](std::uint8_t topic) {
        return tweaked(topic, [](PacketBuilder& b) { b.ipv4(kPolicedPublisherIp, kMomIp); });
    };
    return {
        policed("OverTopicLimitDropped", "best-effort event over its topic's rate limit: XDP_DROP, counted",
                event(kTopicPoliced), kTopicPoliced, TEMPOS_POLICE_TOPIC_RATE),
        policed("OverPublisherLimitDropped", "best-effort event from a publisher over its limit: XDP_DROP, counted",
                from_policed(kTopicBestEffort), kTopicBestEffort, TEMPOS_POLICE_PUBLISHER_RATE),
        routed("StrictNotPublisherPoliced", "strict event from a publisher over its limit: routed (strict meets only "
               "its topic's limit)", XDP_TX, from_policed(kTopicSingle), forwarded(from_policed(kTopicSingle), kSubA),
               kTopicSingle),
    };
}

std::vector<RouterFixture> best_effort_rows() {
    const auto partial = tweaked(kTopicBestEffort, [](PacketBuilder& b) { b.udp_checksum_partial(); });
    const auto partial_zeroed = tweaked(kTopicBestEffort, [](PacketBuilder& b) { b.udp_checksum_none(); });
    const auto no_checksum = tweaked(kTopicBestEffort, [](PacketBuilder& b) { b.udp_checksum_none(); });
    const auto vlan = tweaked(kTopicBestEffort, [](PacketBuilder& b) { b.vlan(PacketBuilder::kVlan8021Q, 100); });
    return {
        to_cpumap("BestEffortToCpumap", "best-effort topic with a best-effort CPU: XDP_REDIRECT to the cpumap, untouched",
                  event(kTopicBestEffort), event(kTopicBestEffort), kTopicBestEffort),
        to_cpumap("UnknownTopicToCpumap", "a topic nobody configured is best-effort work: to the cpumap",
                  event(kTopicUnknown), event(kTopicUnknown), kTopicUnknown),
        to_cpumap("BestEffortVlanToCpumap", "802.1Q best-effort event: to the cpumap, tag kept", vlan, vlan,
                  kTopicBestEffort),
        to_cpumap("BestEffortPartialChecksumZeroed",
                  "CHECKSUM_PARTIAL datagram (pseudo-header sum only): checksum set to 0 before the cpumap", partial,
                  partial_zeroed, kTopicBestEffort),
        to_cpumap("BestEffortNoChecksumStaysZero", "UDP checksum 0 (none) stays 0 on the way to the cpumap",
                  no_checksum, no_checksum, kTopicBestEffort),
        with_cpumap(routed("StrictUnaffectedByCpumap", "", XDP_TX, event(kTopicSingle),
                           forwarded(event(kTopicSingle), kSubA), kTopicSingle),
                    "StrictUnaffectedByCpumap", "strict event with the cpumap on: routed as before"),
        with_cpumap(passed("StrictOnSocketPathNotToCpumap", "", event(kTopicStrictSocket).build(), kTopicStrictSocket,
                           TEMPOS_PASS_NOT_STRICT),
                    "StrictOnSocketPathNotToCpumap",
                    "strict topic the router does not route: XDP_PASS, never the best-effort queue"),
        with_cpumap(passed("FanoutNotToCpumap", "", event(kTopicFanout).build(), kTopicFanout, TEMPOS_PASS_FANOUT),
                    "FanoutNotToCpumap", "fan-out hand-over (strict) with the cpumap on: XDP_PASS to the TC program"),
        with_cpumap(passed("StrictTtl1NotToCpumap", "",
                           tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.ttl(1); }), kTopicSingle,
                           TEMPOS_PASS_TTL),
                    "StrictTtl1NotToCpumap", "strict event the router cannot route (TTL 1): XDP_PASS"),
        with_cpumap(passed("UdpToOtherPortNotToCpumap", "", event(kTopicBestEffort, 9999).build(),
                           TEMPOS_NO_TOPIC_SLOT, TEMPOS_PASS_NOT_OUR_PORT),
                    "UdpToOtherPortNotToCpumap", "not for the MoM's port: XDP_PASS with the cpumap on"),
        with_cpumap(passed("ArpNotToCpumap", "",
                           PacketBuilder()
                               .eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kPublisherMac)
                               .raw_l3(PacketBuilder::kEthArp, Bytes(28, 0))
                               .build(),
                           TEMPOS_NO_TOPIC_SLOT, TEMPOS_PASS_NOT_IPV4),
                    "ArpNotToCpumap", "ARP with the cpumap on: XDP_PASS"),
    };
}

// IPv6 best-effort events to the best-effort CPUs (bpf/best_effort.h, docs/isolation.md) and the publisher limit
// for IPv6 sources. The checksum rule: after the cpumap the skb is CHECKSUM_NONE and IPv6 has no "no checksum",
// so a CHECKSUM_PARTIAL datagram's field is completed in native mode (the expected frame carries the checksum the
// builder computes in full), kept in generic mode (the skb itself, still partial, crosses the cpumap), and a
// datagram too long to complete is passed up untouched; every other field is left as it came.
std::vector<RouterFixture> ipv6_best_effort_rows() {
    const auto tweaked6 = [](std::uint8_t topic, const std::function<void(PacketBuilder&)>& tweak) {
        PacketBuilder b = event6(topic);
        tweak(b);
        return b;
    };
    const auto partial = [](PacketBuilder b) { return b.udp_checksum_partial(); };
    const auto complete = [](PacketBuilder b) { return b.udp_checksum_partial(false); };
    const auto vlan = tweaked6(kTopicBestEffort, [](PacketBuilder& b) { b.vlan(PacketBuilder::kVlan8021Q, 100); });
    const auto hop_by_hop = tweaked6(kTopicBestEffort, [](PacketBuilder& b) { b.ipv6_ext(0, ipv6_ext::kPad6); });
    const auto partial_event = partial(event6(kTopicBestEffort));
    const auto partial_ext = partial(hop_by_hop);
    const auto partial_qinq = tweaked6(kTopicBestEffort, [](PacketBuilder& b) {
        b.vlan(PacketBuilder::kVlan8021AD, 10).vlan(PacketBuilder::kVlan8021Q, 20).udp_checksum_partial();
    });
    const auto of_datagram = [&](std::size_t udp_len) {
        Bytes payload(udp_len - 8);
        for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 11 + 5);
        payload[0] = kTopicBestEffort;
        return tweaked6(kTopicBestEffort, [&](PacketBuilder& b) { b.payload(payload).udp_checksum_partial(); });
    };
    const auto partial_longest = of_datagram(2048);   // the longest the router completes
    const auto partial_too_long = of_datagram(2049);
    const PacketBuilder zero_sum = event6_with_checksum(kTopicBestEffort, 0);  // computes to 0: sent as 0xffff
    const auto padded = tweaked6(kTopicBestEffort, [](PacketBuilder& b) { b.padding(12).udp_checksum_partial(); });
    const PacketBuilder coincidence = checksum_equal_to_partial6();
    const auto from = [&](const Ipv6Addr& source, std::uint8_t topic) {
        return tweaked6(topic, [&](PacketBuilder& b) { b.ipv6(source, kMomIp6); });
    };
    const MomConstants generic_cpumap{kMomPort, kMomIp, true, 1};
    const auto generic = [&](RouterFixture f) {
        f.mom = generic_cpumap;
        return f;
    };
    RouterFixture too_long = with_cpumap(passed("", "", partial_too_long.build(), kTopicBestEffort,
                                                TEMPOS_PASS_PARTIAL_CSUM),
                                         "Ipv6BestEffortPartialTooLongPassed",
                                         "CHECKSUM_PARTIAL, native, 2049-byte datagram: cannot be completed, passed "
                                         "untouched (partial_csum), never to the cpumap with a field that fails");
    return {
        to_cpumap("Ipv6BestEffortToCpumap", "best-effort IPv6 event, complete checksum: XDP_REDIRECT to the cpumap, "
                  "untouched", event6(kTopicBestEffort), event6(kTopicBestEffort), kTopicBestEffort),
        to_cpumap("Ipv6UnknownTopicToCpumap", "IPv6 event of a topic nobody configured: to the cpumap",
                  event6(kTopicUnknown), event6(kTopicUnknown), kTopicUnknown),
        to_cpumap("Ipv6BestEffortVlanToCpumap", "802.1Q IPv6 best-effort event: to the cpumap, tag kept", vlan, vlan,
                  kTopicBestEffort),
        to_cpumap("Ipv6BestEffortExtensionHeaderToCpumap", "hop-by-hop header, complete checksum: to the cpumap, "
                  "untouched", hop_by_hop, hop_by_hop, kTopicBestEffort),
        to_cpumap("Ipv6BestEffortPartialChecksumCompleted", "CHECKSUM_PARTIAL, native: the complete checksum written "
                  "before the cpumap", partial_event, complete(partial_event), kTopicBestEffort),
        to_cpumap("Ipv6BestEffortPartialBehindExtensionHeaderCompleted", "CHECKSUM_PARTIAL behind a hop-by-hop "
                  "header, native: completed, written at its offset", partial_ext, complete(partial_ext),
                  kTopicBestEffort),
        to_cpumap("Ipv6BestEffortPartialQinQCompleted", "CHECKSUM_PARTIAL behind two VLAN tags, native: completed, "
                  "tags kept", partial_qinq, complete(partial_qinq), kTopicBestEffort),
        to_cpumap("Ipv6BestEffortPartialPaddingNotSummed", "CHECKSUM_PARTIAL with Ethernet padding: only udp.len is "
                  "summed", padded, complete(padded), kTopicBestEffort),
        to_cpumap("Ipv6BestEffortPartialLongestCompleted", "CHECKSUM_PARTIAL, 2048-byte datagram, native: completed",
                  partial_longest, complete(partial_longest), kTopicBestEffort),
        std::move(too_long),
        to_cpumap("Ipv6BestEffortPartialComputedZeroIsFfff", "CHECKSUM_PARTIAL whose complete checksum computes to 0: "
                  "0xffff, never 0", partial(zero_sum), zero_sum, kTopicBestEffort),
        to_cpumap("Ipv6BestEffortCompleteEqualToPartialKept", "a complete checksum that equals the partial field (1 in "
                  "65536): completing it gives it back", coincidence, coincidence, kTopicBestEffort),
        generic(to_cpumap("Ipv6BestEffortPartialGenericKept", "CHECKSUM_PARTIAL, generic: to the cpumap with the "
                          "field kept (the skb stays partial)", partial_event, partial_event, kTopicBestEffort)),
        generic(to_cpumap("Ipv6BestEffortPartialTooLongGenericKept", "CHECKSUM_PARTIAL, generic, 2049-byte "
                          "datagram: no length limit, kept", partial_too_long, partial_too_long, kTopicBestEffort)),
        with_cpumap(passed("", "", event6(kTopicStrictSocket).build(), kTopicStrictSocket, TEMPOS_PASS_NOT_STRICT),
                    "Ipv6StrictOnSocketPathNotToCpumap",
                    "strict IPv6 topic the router does not route: XDP_PASS, never the best-effort queue"),
        with_cpumap(passed("", "", event6(kTopicFanout).build(), kTopicFanout, TEMPOS_PASS_FANOUT),
                    "Ipv6FanoutNotToCpumap", "IPv6 fan-out hand-over with the cpumap on: XDP_PASS to the TC program"),
        with_cpumap(routed("", "", XDP_TX, event6(kTopicSingle6), forwarded(event6(kTopicSingle6), kSubA6),
                           kTopicSingle6),
                    "Ipv6StrictUnaffectedByCpumap", "strict IPv6 event with the cpumap on: routed as before"),
        policed("Ipv6OverPublisherLimitDropped", "best-effort IPv6 event from a source over its limit: XDP_DROP, "
                "publisher_rate", from(kPolicedPublisherIp6, kTopicBestEffort), kTopicBestEffort,
                TEMPOS_POLICE_PUBLISHER_RATE),
        policed("Ipv6UnknownTopicOverPublisherLimitDropped", "unknown topic from that source: the same bucket, dropped",
                from(kPolicedPublisherIp6, kTopicUnknown), kTopicUnknown, TEMPOS_POLICE_PUBLISHER_RATE),
        policed("Ipv4MappedSourceSharesIpv4Bucket", "IPv6 source ::ffff:10.0.0.8 is the IPv4 source 10.0.0.8, over "
                "its limit: dropped", from(kPolicedPublisherIp4Mapped, kTopicBestEffort), kTopicBestEffort,
                TEMPOS_POLICE_PUBLISHER_RATE),
        routed("Ipv6StrictNotPublisherPoliced", "strict IPv6 event from a source over its limit: routed (strict meets "
               "only its topic's limit)", XDP_TX, from(kPolicedPublisherIp6, kTopicSingle6),
               forwarded(from(kPolicedPublisherIp6, kTopicSingle6), kSubA6), kTopicSingle6),
    };
}

// Egress tagging (bpf/egress_vlan.h) and the egress MTU: the frame leaves with its egress interface's tagging,
// whatever tags it arrived with; an event longer than the egress MTU is passed as too_big.
std::vector<RouterFixture> egress_rows() {
    const auto tagged = [](std::uint8_t topic, std::uint16_t tpid, std::uint16_t tci) {
        return tweaked(topic, [&](PacketBuilder& b) { b.vlan(tpid, tci); });
    };
    const auto qinq = tweaked(kTopicVlanIngressNic, [](PacketBuilder& b) {
        b.vlan(PacketBuilder::kVlan8021AD, 10).vlan(PacketBuilder::kVlan8021Q, 20).ip_options({1, 1, 1, 0});
    });
    const auto same_vlan = tagged(kTopicVlanIngressNic, PacketBuilder::kVlan8021Q, kEgressVid);
    // Priority 3 and another VLAN id: the egress tag is the member's VLAN, priority 0.
    const auto other_vlan = tagged(kTopicVlanIngressNic, PacketBuilder::kVlan8021Q, 0x6000 | 300);
    const auto tagged_far = tagged(kTopicOtherNic, PacketBuilder::kVlan8021Q, kEgressVid);
    const auto on_ingress_vlan = [](PacketBuilder out) { return out.untagged().vlan(PacketBuilder::kVlan8021Q, kEgressVid); };
    // An IPv4 datagram of exactly `tot_len` bytes.
    const auto of_length = [](std::uint8_t topic, std::size_t tot_len) {
        Bytes payload(tot_len - 20 - 8);
        for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<std::uint8_t>(i * 13 + 1);
        payload[0] = topic;
        return tweaked(topic, [&](PacketBuilder& b) { b.payload(payload); });
    };
    const auto far = [](const PacketBuilder& in) { return forwarded(in, kSubFar, kMomIp, kOtherNicMac); };
    return {
        routed("VlanTaggedInTaggedOutSameInterface",
               "802.1Q VLAN 100 in, member behind VLAN 100 of the ingress device: XDP_TX, tagged 100", XDP_TX,
               same_vlan, forwarded(same_vlan, kSubA), kTopicVlanIngressNic),
        routed("VlanOtherTagRewrittenSameInterface",
               "VLAN 300 priority 3 in, member behind VLAN 100 of the ingress device: XDP_TX, tag 100 priority 0",
               XDP_TX, other_vlan, on_ingress_vlan(forwarded(other_vlan, kSubA)), kTopicVlanIngressNic),
        routed("UntaggedInTaggedOutSameInterface",
               "untagged in, member behind VLAN 100 of the ingress device: XDP_TX, tag 100 pushed", XDP_TX,
               event(kTopicVlanIngressNic), on_ingress_vlan(forwarded(event(kTopicVlanIngressNic), kSubA)),
               kTopicVlanIngressNic),
        routed("QinQInOneTagOut", "802.1ad + 802.1Q tags in, member behind VLAN 100 of the ingress device: one tag",
               XDP_TX, qinq, on_ingress_vlan(forwarded(qinq, kSubA)), kTopicVlanIngressNic),
        routed("VlanTaggedInUntaggedOutOtherInterface",
               "VLAN 100 in, member on another (untagged) interface: XDP_REDIRECT, untagged", XDP_REDIRECT,
               tagged_far, far(tagged_far).untagged(), kTopicOtherNic),
        routed("UntaggedInTaggedOutOtherInterface",
               "untagged in, member behind 802.1ad VLAN 200 of another interface: XDP_REDIRECT to it, tag pushed",
               XDP_REDIRECT, event(kTopicVlanOtherNic),
               far(event(kTopicVlanOtherNic)).vlan(PacketBuilder::kVlan8021AD, kSecondEgressVid), kTopicVlanOtherNic),
        routed("RedirectAtEgressMtuRoutes", "a 1500-byte datagram redirected to a 1500-byte MTU: routed",
               XDP_REDIRECT, of_length(kTopicOtherNic, kSecondInterfaceMtu),
               far(of_length(kTopicOtherNic, kSecondInterfaceMtu)), kTopicOtherNic),
        passed("RedirectOverEgressMtuTooBig",
               "a 1501-byte datagram for a member with a MAC behind a 1500-byte MTU: passed untouched, too_big",
               of_length(kTopicOtherNic, kSecondInterfaceMtu + 1).build(), kTopicOtherNic, TEMPOS_PASS_TOO_BIG),
        passed("FibOverMtuTooBig",
               "member without MAC, FIB route over a 1500-byte MTU, 1501-byte datagram: too_big (not fib)",
               of_length(kTopicFibSecondNic, kSecondInterfaceMtu + 1).build(), kTopicFibSecondNic,
               TEMPOS_PASS_TOO_BIG),
        passed("FibNoNeighbourWithinMtu", "the same member, 1500-byte datagram: no neighbour, fib",
               of_length(kTopicFibSecondNic, kSecondInterfaceMtu).build(), kTopicFibSecondNic, TEMPOS_PASS_FIB),
    };
}

// IPv6 (bpf/parsing6.h, docs/ipv6.md): the expected frames are built in full by the builder (addresses, hop limit
// one lower, the UDP checksum computed over the new pseudo-header), so every routed row checks the incremental
// update.
std::vector<RouterFixture> ipv6_rows() {
    const std::uint32_t none = TEMPOS_NO_TOPIC_SLOT;
    const auto tweaked6 = [](std::uint8_t topic, const std::function<void(PacketBuilder&)>& tweak) {
        PacketBuilder b = event6(topic);
        tweak(b);
        return b;
    };
    const auto to_a6 = [](std::string name, std::string description, const PacketBuilder& in, MomConstants mom = {}) {
        return routed(std::move(name), std::move(description), XDP_TX, in, forwarded(in, kSubA6), kTopicSingle6, mom);
    };
    // Extension header bodies (frame_world.hpp).
    const Bytes& pad6 = ipv6_ext::kPad6;
    const Bytes& pad14 = ipv6_ext::kPad14;
    const Bytes& routing_done = ipv6_ext::kRoutingDone;
    const Bytes& routing_left = ipv6_ext::kRoutingLeft;
    const Bytes& fragment_first = ipv6_ext::kFragmentFirst;
    const auto hop_by_hop = tweaked6(kTopicSingle6, [&](PacketBuilder& b) { b.ipv6_ext(0, pad6); });
    const auto dest_opts = tweaked6(kTopicSingle6, [&](PacketBuilder& b) { b.ipv6_ext(60, pad14); });
    const auto routing = tweaked6(kTopicSingle6, [&](PacketBuilder& b) { b.ipv6_ext(43, routing_done); });
    const auto four = tweaked6(kTopicSingle6, [&](PacketBuilder& b) {
        b.ipv6_ext(0, pad6).ipv6_ext(60, pad6).ipv6_ext(43, routing_done).ipv6_ext(60, pad14);
    });
    const auto five = tweaked6(kTopicSingle6, [&](PacketBuilder& b) {
        b.ipv6_ext(0, pad6).ipv6_ext(60, pad6).ipv6_ext(43, routing_done).ipv6_ext(60, pad6).ipv6_ext(60, pad6);
    });
    const auto vlan = tweaked6(kTopicSingle6, [](PacketBuilder& b) { b.vlan(PacketBuilder::kVlan8021Q, 100); });
    const auto qinq = tweaked6(kTopicSingle6, [&](PacketBuilder& b) {
        b.vlan(PacketBuilder::kVlan8021AD, 10).vlan(PacketBuilder::kVlan8021Q, 20).ipv6_ext(0, pad6);
    });
    const auto to_alias = tweaked6(kTopicSingle6, [](PacketBuilder& b) { b.ipv6(kPublisherIp6, kMomIp6Alias); });
    const MomConstants keep_destination{kMomPort, kMomIp, false, 0, Ipv6Addr{}};
    const MomConstants generic{kMomPort, kMomIp, true};
    const auto [zero_sum_in, zero_sum_out] = checksum_zero_pair6();
    // Source :: and the MoM's alias: the old addresses sum near zero, the new ones are all ones.
    const auto near_zero = tweaked6(kTopicOnes6, [](PacketBuilder& b) { b.ipv6(Ipv6Addr{}, kMomIp6Alias).tos(0xff); });
    const auto partial = [](PacketBuilder b) { return b.udp_checksum_partial(); };
    const auto complete = [](PacketBuilder b) { return b.udp_checksum_partial(false); };
    const auto partial_event = partial(event6(kTopicSingle6));
    const auto partial_ext = partial(hop_by_hop);
    Bytes long_payload(1400);
    for (std::size_t i = 0; i < long_payload.size(); ++i) long_payload[i] = static_cast<std::uint8_t>(i * 7 + 3);
    long_payload[0] = kTopicSingle6;
    const auto partial_long = tweaked6(kTopicSingle6, [&](PacketBuilder& b) { b.payload(long_payload).udp_checksum_partial(); });
    const auto padded = tweaked6(kTopicSingle6, [](PacketBuilder& b) { b.padding(12); });
    const auto frame = [&](const std::function<void(PacketBuilder&)>& tweak) {
        return tweaked6(kTopicSingle6, tweak).build();
    };
    // Where the headers end in an untagged IPv6 event.
    constexpr std::size_t kIp6End = 14 + 40;
    return {
        to_a6("Ipv6StrictRouted", "IPv6 strict event: XDP_TX, addresses, port and hop limit rewritten, UDP checksum "
              "updated", event6(kTopicSingle6)),
        to_a6("Ipv6HopLimit2Decremented", "hop limit 2: routed with 1",
              tweaked6(kTopicSingle6, [](PacketBuilder& b) { b.ttl(2); })),
        routed("Ipv6SecondMemberRoundRobin", "two IPv6 members: the first event goes to the first", XDP_TX,
               event6(kTopicTwo6), forwarded(event6(kTopicTwo6), kSubA6), kTopicTwo6),
        routed("Ipv6Vlan8021QInUntaggedOut", "802.1Q tag in, member on the ingress interface: routed, untagged",
               XDP_TX, vlan, forwarded(vlan, kSubA6).untagged(), kTopicSingle6),
        routed("Ipv6QinQWithHopByHopUntaggedOut", "802.1ad + 802.1Q tags and a hop-by-hop header: routed, untagged",
               XDP_TX, qinq, forwarded(qinq, kSubA6).untagged(), kTopicSingle6),
        routed("Ipv6UntaggedInTaggedOut", "member behind VLAN 100 of the ingress device: tag pushed", XDP_TX,
               event6(kTopicVlanIngressNic6),
               forwarded(event6(kTopicVlanIngressNic6), kSubA6).vlan(PacketBuilder::kVlan8021Q, kEgressVid),
               kTopicVlanIngressNic6),
        to_a6("Ipv6HopByHopSkipped", "hop-by-hop options header: skipped, kept, UDP written at its offset", hop_by_hop),
        to_a6("Ipv6DestinationOptionsSkipped", "16-byte destination options header: skipped", dest_opts),
        to_a6("Ipv6RoutingDoneSkipped", "routing header with segments left 0: skipped", routing),
        to_a6("Ipv6FourExtensionHeadersSkipped", "hop-by-hop, destination options, routing, destination options: "
              "the most the router skips", four),
        passed("Ipv6FiveExtensionHeadersPassed", "five skippable extension headers: one more than skipped",
               five.build(), none, TEMPOS_PASS_EXT_HEADER),
        passed("Ipv6RoutingSegmentsLeftPassed", "routing header with segments left 1: not the final destination",
               frame([&](PacketBuilder& b) { b.ipv6_ext(43, routing_left); }), none, TEMPOS_PASS_EXT_HEADER),
        passed("Ipv6AuthenticationHeaderPassed", "AH (51) before UDP",
               frame([&](PacketBuilder& b) { b.ipv6_ext(51, pad14); }), none, TEMPOS_PASS_EXT_HEADER),
        passed("Ipv6EspPassed", "ESP (50) after a hop-by-hop header",
               frame([&](PacketBuilder& b) { b.ipv6_ext(0, pad6).ipv6_ext(50, pad6); }), none,
               TEMPOS_PASS_EXT_HEADER),
        passed("Ipv6FragmentHeaderPassed", "fragment header (first fragment): passed like an IPv4 fragment",
               frame([&](PacketBuilder& b) { b.ipv6_ext(44, fragment_first); }), none, TEMPOS_PASS_FRAGMENT),
        passed("Ipv6FragmentAfterHopByHopPassed", "hop-by-hop then a fragment header",
               frame([&](PacketBuilder& b) { b.ipv6_ext(0, pad6).ipv6_ext(44, fragment_first); }), none,
               TEMPOS_PASS_FRAGMENT),
        passed("Ipv6HopLimit1", "hop limit 1 on a strict topic",
               frame([](PacketBuilder& b) { b.ttl(1); }), kTopicSingle6, TEMPOS_PASS_TTL),
        passed("Ipv6HopLimit0", "hop limit 0 on a strict topic",
               frame([](PacketBuilder& b) { b.ttl(0); }), kTopicSingle6, TEMPOS_PASS_TTL),

        // Truncation at every header boundary, and payload lengths that lie.
        passed("Ipv6TruncatedAfterEthernet", "14-byte frame, ethertype IPv6",
               event6(kTopicSingle6).truncate(14).build(), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6TruncatedInHeader", "39 bytes of IPv6 header",
               event6(kTopicSingle6).truncate(kIp6End - 1).build(), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6TruncatedAfterHeader", "the IPv6 header and nothing else, payload length 0",
               frame([](PacketBuilder& b) { b.payload_len(0).truncate(kIp6End); }), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6TruncatedInUdpHeader", "payload length 4, the frame ends inside the UDP header",
               frame([](PacketBuilder& b) { b.payload_len(4).truncate(kIp6End + 4); }), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6TruncatedInExtensionHeader", "payload length 2, the frame ends inside a hop-by-hop header",
               frame([&](PacketBuilder& b) { b.ipv6_ext(0, pad6).payload_len(2).truncate(kIp6End + 2); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("Ipv6ExtensionHeaderBeyondPayloadLength", "payload length 8: a 16-byte destination options header "
               "does not fit", frame([&](PacketBuilder& b) { b.ipv6_ext(60, pad14).payload_len(8); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("Ipv6TruncatedAfterExtensionHeader", "hop-by-hop header, then the frame ends before UDP",
               frame([&](PacketBuilder& b) { b.ipv6_ext(0, pad6).payload_len(8).truncate(kIp6End + 8); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("Ipv6ZeroPayloadBytes", "UDP to our port with no payload: no topic",
               frame([](PacketBuilder& b) { b.payload({}); }), none, TEMPOS_PASS_NO_PAYLOAD),
        passed("Ipv6PayloadLengthBeyondFrameByOne", "payload length 1 byte beyond the frame",
               frame([](PacketBuilder& b) { b.payload_len(8 + 12 + 1); }), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6PayloadLengthShortOfUdp", "payload length 1 byte short of the UDP datagram",
               frame([](PacketBuilder& b) { b.payload_len(8 + 12 - 1); }), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6UdpLenTooLarge", "udp.len 1 byte larger than the payload length",
               frame([](PacketBuilder& b) { b.udp_len(8 + 12 + 1); }), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6UdpLenTooSmallBehindExtensionHeader", "hop-by-hop header, udp.len 1 byte short",
               frame([&](PacketBuilder& b) { b.ipv6_ext(0, pad6).udp_len(8 + 12 - 1); }), none,
               TEMPOS_PASS_MALFORMED),
        to_a6("Ipv6EthernetPaddingKept", "payload length < frame (Ethernet padding): routed, padding untouched",
              padded),
        passed("Ipv6Version4", "version field 4 behind ethertype IPv6",
               frame([](PacketBuilder& b) { b.version(4); }), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6UdpChecksumZeroPassed", "UDP checksum 0 is invalid in IPv6: never forwarded",
               frame([](PacketBuilder& b) { b.udp_checksum_none(); }), none, TEMPOS_PASS_MALFORMED),
        passed("Ipv6TcpToMomPort", "TCP over IPv6 to port 9998",
               frame([](PacketBuilder& b) { b.tcp(kPublisherPort, kMomPort); }), none, TEMPOS_PASS_NOT_OUR_PORT),
        passed("Ipv6UdpToOtherPort", "UDP over IPv6 to port 9999", event6(kTopicSingle6, 9999).build(), none,
               TEMPOS_PASS_NOT_OUR_PORT),
        passed("Ipv6NoNextHeader", "next header 59 (none) after a hop-by-hop header",
               frame([&](PacketBuilder& b) { b.ipv6_ext(0, pad6).protocol(59).ip_payload({}); }), none,
               TEMPOS_PASS_NOT_OUR_PORT),

        // Checksums.
        routed("Ipv6UdpChecksumComputedZeroIsFfff", "a computed UDP checksum 0 is sent as 0xffff", XDP_TX,
               zero_sum_in, zero_sum_out, kTopicSingle6),
        routed("Ipv6ChecksumCarriesFolded", "all-ones new address and port from near-zero ones: every carry folded",
               XDP_TX, near_zero, forwarded(near_zero, kSubOnes6), kTopicOnes6),
        routed("Ipv6PartialChecksumNativeCompleted", "CHECKSUM_PARTIAL, native: the complete checksum is written",
               XDP_TX, partial_event, complete(forwarded(partial_event, kSubA6)), kTopicSingle6),
        routed("Ipv6PartialChecksumBehindExtensionHeader", "CHECKSUM_PARTIAL behind a hop-by-hop header, native: "
               "completed", XDP_TX, partial_ext, complete(forwarded(partial_ext, kSubA6)), kTopicSingle6),
        routed("Ipv6PartialChecksumLongDatagram", "CHECKSUM_PARTIAL, 1408-byte datagram, native: completed", XDP_TX,
               partial_long, complete(forwarded(partial_long, kSubA6)), kTopicSingle6),
        to_a6("Ipv6PartialChecksumGenericStaysPartial",
              "CHECKSUM_PARTIAL, generic: the pseudo-header sum of the new addresses", partial_event, generic),
        to_a6("Ipv6FullChecksumGenericUpdated", "complete checksum, generic: updated", event6(kTopicSingle6), generic),

        // Addresses.
        routed("Ipv6MomIpZeroKeepsDestinationAsSource", "mom_ipv6 = ::: the new source is the frame's destination",
               XDP_TX, to_alias, forwarded(to_alias, kSubA6, kMomIp6Alias), kTopicSingle6, keep_destination),
        to_a6("Ipv6SecondListenedAddressRoutes", "a second address the MoM listens on ([::]): routed, source the "
              "configured address", to_alias),
        passed("Ipv6OtherHostMacNotForUs", "our IPv6 address behind another host's MAC",
               frame([](PacketBuilder& b) { b.eth(kOtherHostMac, kPublisherMac); }), none, TEMPOS_PASS_NOT_FOR_US),
        passed("Ipv6OtherAddressNotForUs", "our MAC, an IPv6 address the MoM does not listen on",
               frame([](PacketBuilder& b) { b.ipv6(kPublisherIp6, kNotListenedIp6); }), none, TEMPOS_PASS_NOT_FOR_US),
        passed("Ipv6MulticastNotForUs", "all-nodes multicast MAC and ff02::1 to our port",
               frame([](PacketBuilder& b) { b.eth(kAllNodesMac, kPublisherMac).ipv6(kPublisherIp6, kAllNodesIp6); }),
               none, TEMPOS_PASS_NOT_FOR_US),

        // Topics and families.
        passed("Ipv6EventForIpv4GroupPassed", "an IPv6 event for a topic routed to an IPv4 member: family",
               event6(kTopicSingle).build(), kTopicSingle, TEMPOS_PASS_FAMILY),
        passed("Ipv4EventForIpv6GroupPassed", "an IPv4 event for a topic routed to an IPv6 member: family",
               event(kTopicSingle6).build(), kTopicSingle6, TEMPOS_PASS_FAMILY),
        passed("Ipv6FanoutTopicPassed", "an IPv6 event of a fan-out topic: passed to the TC fan-out, counted as fanout",
               event6(kTopicFanout).build(), kTopicFanout, TEMPOS_PASS_FANOUT),
        passed("Ipv6BestEffortPassed", "best-effort IPv6 event, no best-effort CPUs: to the socket path",
               event6(kTopicBestEffort).build(), kTopicBestEffort, TEMPOS_PASS_NOT_STRICT),
        policed("Ipv6OverTopicLimitDropped", "IPv6 event over its topic's rate limit: XDP_DROP, counted",
                event6(kTopicPoliced), kTopicPoliced, TEMPOS_POLICE_TOPIC_RATE),
        passed("Ipv6FibNoRoute", "IPv6 member without MAC, no route to it: bpf_fib_lookup fails",
               event6(kTopicFib6).build(), kTopicFib6, TEMPOS_PASS_FIB),
    };
}

}  // namespace

RouterMaps router_maps(const tempos_router& router) {
    return {bpf_map__fd(router.maps.topic_routes),
            bpf_map__fd(router.maps.topic_counters),
            bpf_map__fd(router.maps.egress_ports),
            bpf_map__fd(router.maps.fanout_routes),
            {bpf_map__fd(router.maps.be_cpumap), bpf_map__fd(router.maps.be_cpu_slots),
             bpf_program__fd(router.progs.tempos_best_effort_entry), bpf_map__fd(router.maps.topic_classes)},
            bpf_map__fd(router.maps.topic_limits),
            bpf_map__fd(router.maps.topic_buckets),
            bpf_map__fd(router.maps.pub_buckets),
            bpf_map__fd(router.maps.local_destinations),
            bpf_map__fd(router.maps.egress_vlans)};
}

void set_router_constants(tempos_router& router, const MomConstants& mom) {
    xdp::set_mom_constants(router, mom.port, mom.ip);
    xdp::set_mom_ipv6(router, mom.ip6);
    router.rodata->best_effort_cpu_count = mom.best_effort_cpus;
}

std::vector<RouterFixture> router_fixtures() {
    const std::uint32_t none = TEMPOS_NO_TOPIC_SLOT;
    const MomConstants port7777{7777, kMomIp};
    const MomConstants keep_destination{kMomPort, {0, 0, 0, 0}};
    const Ipv4Addr other_mom_ip = kMomIpAlias;
    const Bytes l3_24{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 7, 10, 0, 0, 1, 0x9c, 0x40, 0x27, 0x0e};
    const auto options_nop = tweaked(kTopicSingle, [](PacketBuilder& b) { b.ip_options({0x01, 0x01, 0x01, 0x00}); });
    const auto options_max = tweaked(kTopicSingle, [](PacketBuilder& b) { b.ip_options(Bytes(40, 0x01)); });
    const auto padded = tweaked(kTopicSingle, [](PacketBuilder& b) { b.padding(12); });
    const auto dont_fragment = tweaked(kTopicSingle, [](PacketBuilder& b) { b.frag_off(0x4000); });
    const auto ttl2 = tweaked(kTopicSingle, [](PacketBuilder& b) { b.ttl(2); });
    const auto no_udp_checksum = tweaked(kTopicSingle, [](PacketBuilder& b) { b.udp_checksum_none(); });
    const auto [zero_sum_in, zero_sum_out] = checksum_zero_pair();
    const auto near_zero = tweaked(kTopicOnes, [](PacketBuilder& b) { b.ipv4({0, 0, 0, 0}, kMomIpNearZero).tos(0xff); });
    const auto vlan = tweaked(kTopicSingle, [](PacketBuilder& b) { b.vlan(PacketBuilder::kVlan8021Q, 100); });
    const auto qinq = tweaked(kTopicSingle, [](PacketBuilder& b) {
        b.vlan(PacketBuilder::kVlan8021AD, 10).vlan(PacketBuilder::kVlan8021Q, 20).ip_options({1, 1, 1, 0});
    });
    const auto to_other_mom = tweaked(kTopicSingle, [&](PacketBuilder& b) { b.ipv4(kPublisherIp, other_mom_ip); });
    // CHECKSUM_PARTIAL datagrams (bpf/udp_csum_partial.h): native mode completes the checksum, generic mode leaves
    // the pseudo-header sum of the new addresses for the kernel to complete.
    const MomConstants generic{kMomPort, kMomIp, true};
    auto partial = [](PacketBuilder b) { return b.udp_checksum_partial(); };
    auto complete = [](PacketBuilder b) { return b.udp_checksum_partial(false); };
    const auto partial_event = partial(event(kTopicSingle));
    const auto partial_odd = tweaked(kTopicSingle, [](PacketBuilder& b) {
        b.payload({kTopicSingle, 'o', 'd', 'd', ' ', 'l', 'e', 'n', 'g', 't', 'h'}).udp_checksum_partial();
    });
    Bytes long_payload(1400);
    for (std::size_t i = 0; i < long_payload.size(); ++i) long_payload[i] = static_cast<std::uint8_t>(i * 7 + 3);
    long_payload[0] = kTopicSingle;
    const auto partial_long = tweaked(kTopicSingle, [&](PacketBuilder& b) { b.payload(long_payload).udp_checksum_partial(); });
    Bytes max_payload(2048 - 8, 0xa5);  // the longest datagram the router completes: 2048 bytes with its header
    max_payload[0] = kTopicSingle;
    const auto partial_max = tweaked(kTopicSingle, [&](PacketBuilder& b) { b.payload(max_payload).udp_checksum_partial(); });
    Bytes too_long_payload(2048 - 8 + 1, 0x5a);
    too_long_payload[0] = kTopicSingle;
    const auto partial_too_long =
        tweaked(kTopicSingle, [&](PacketBuilder& b) { b.payload(too_long_payload).udp_checksum_partial(); });
    const auto partial_padded = tweaked(kTopicSingle, [](PacketBuilder& b) { b.padding(12).udp_checksum_partial(); });
    const auto partial_qinq = tweaked(kTopicSingle, [](PacketBuilder& b) {
        b.vlan(PacketBuilder::kVlan8021AD, 10).vlan(PacketBuilder::kVlan8021Q, 20).ip_options({1, 1, 1, 0});
        b.udp_checksum_partial();
    });
    // The addresses sum to 1, like near_zero's: the pseudo-header sum then folds to the extreme values.
    const auto partial_ones = tweaked(kTopicOnes, [](PacketBuilder& b) {
        b.ipv4({0, 0, 0, 0}, kMomIpNearZero).tos(0xff).udp_checksum_partial();
    });

    // The usual row: an event of the single-member topic sent on to its member (kSubA) with XDP_TX; a
    // CHECKSUM_PARTIAL one, natively, with its checksum completed.
    auto to_sub_a = [](std::string name, std::string description, const PacketBuilder& in, MomConstants mom = {}) {
        return routed(std::move(name), std::move(description), XDP_TX, in, forwarded(in, kSubA), kTopicSingle, mom);
    };
    auto completed_to_sub_a = [&](std::string name, std::string description, const PacketBuilder& in) {
        return routed(std::move(name), std::move(description), XDP_TX, in, complete(forwarded(in, kSubA)),
                      kTopicSingle);
    };

    std::vector<RouterFixture> rows{
        // Strict events that are routed.
        to_sub_a("StrictRedirect",
                 "valid strict event on port 9998: XDP_TX, both checksums updated", event(kTopicSingle)),
        to_sub_a("StrictOnConfiguredPort7777",
                 "mom_port is load-time config: 7777 routes", event(kTopicSingle, 7777), port7777),
        routed("MomIpZeroKeepsDestinationAsSource", "mom_ipv4 = 0: the new source is the frame's original destination",
               XDP_TX, to_other_mom, forwarded(to_other_mom, kSubA, other_mom_ip), kTopicSingle, keep_destination),
        to_sub_a("IpOptionsSkipped", "ihl 6 (NOP options): routed, options kept", options_nop),
        to_sub_a("IpOptionsMaximal", "ihl 15 (40 option bytes): routed", options_max),
        to_sub_a("TotLenSmallerThanFramePadding",
                 "tot_len < frame (Ethernet padding): routed, padding untouched", padded),
        to_sub_a("DontFragmentRoutes", "DF set is not a fragment: routed", dont_fragment),
        to_sub_a("Ttl2Decremented", "TTL 2: routed with TTL 1", ttl2),
        to_sub_a("UdpChecksumZeroStaysZero", "UDP checksum 0 (none) stays 0", no_udp_checksum),
        routed("UdpChecksumComputedZeroIsFfff", "a computed UDP checksum 0 is sent as 0xffff", XDP_TX, zero_sum_in,
               zero_sum_out, kTopicSingle),
        routed("ChecksumCarriesFolded", "all-ones new address and port from near-zero ones: every carry folded",
               XDP_TX, near_zero, forwarded(near_zero, kSubOnes), kTopicOnes),
        routed("Vlan8021QInUntaggedOut",
               "one 802.1Q tag in, member reached through the ingress interface itself: routed, untagged",
               XDP_TX, vlan, forwarded(vlan, kSubA).untagged(), kTopicSingle),
        routed("QinQInUntaggedOut", "802.1ad + 802.1Q tags and IP options in, member on the ingress interface: "
               "routed, both tags removed", XDP_TX, qinq, forwarded(qinq, kSubA).untagged(), kTopicSingle),
        routed("RedirectOtherInterface",
               "endpoint on another NIC present in egress_ports: XDP_REDIRECT, its MAC as source", XDP_REDIRECT,
               event(kTopicOtherNic), forwarded(event(kTopicOtherNic), kSubFar, kMomIp, kOtherNicMac),
               kTopicOtherNic),
        routed("EgressEqualsIngressIsTx", "endpoint ifindex == ingress ifindex: XDP_TX", XDP_TX,
               event(kTopicIngressNic), forwarded(event(kTopicIngressNic), kSubA), kTopicIngressNic),

        // UDP checksum forms: complete, none (above), CHECKSUM_PARTIAL; native and generic.
        completed_to_sub_a("PartialChecksumNativeCompleted",
                           "CHECKSUM_PARTIAL (pseudo-header sum only), native: the complete checksum is written",
                           partial_event),
        to_sub_a("PartialChecksumGenericStaysPartial",
                 "CHECKSUM_PARTIAL, generic: the pseudo-header sum of the new addresses, for the kernel to complete",
                 partial_event, generic),
        to_sub_a("FullChecksumGenericUpdated",
                 "complete checksum, generic: updated as in native mode", event(kTopicSingle), generic),
        to_sub_a("UdpChecksumZeroStaysZeroGeneric",
                 "UDP checksum 0 (none), generic: stays 0", no_udp_checksum, generic),
        completed_to_sub_a("PartialChecksumOddLength",
                           "CHECKSUM_PARTIAL, 11 payload bytes: the last byte padded with zero", partial_odd),
        completed_to_sub_a("PartialChecksumLongDatagram",
                           "CHECKSUM_PARTIAL, 1408-byte datagram: summed over 11 steps", partial_long),
        completed_to_sub_a("PartialChecksumLongestCompleted",
                           "CHECKSUM_PARTIAL, 2048-byte datagram: the longest completed", partial_max),
        completed_to_sub_a("PartialChecksumPaddingNotSummed",
                           "CHECKSUM_PARTIAL with Ethernet padding: only udp.len is summed", partial_padded),
        routed("PartialChecksumQinQWithOptions", "CHECKSUM_PARTIAL behind two VLAN tags and IP options: completed, "
               "untagged", XDP_TX, partial_qinq, complete(forwarded(partial_qinq, kSubA)).untagged(), kTopicSingle),
        routed("PartialChecksumCarriesFolded", "CHECKSUM_PARTIAL, all-ones new address and port: carries folded",
               XDP_TX, partial_ones, complete(forwarded(partial_ones, kSubOnes)), kTopicOnes),
        routed("PartialChecksumGenericCarriesFolded", "CHECKSUM_PARTIAL, generic, all-ones new address", XDP_TX,
               partial_ones, forwarded(partial_ones, kSubOnes), kTopicOnes, generic),
        to_sub_a("PartialChecksumLongGeneric",
                 "CHECKSUM_PARTIAL, generic, 2049-byte datagram: no length limit", partial_too_long, generic),

        // Truncation at every header boundary.
        // Below 14 bytes BPF_PROG_TEST_RUN itself refuses the frame (EINVAL), as drivers never deliver one; the
        // program's own Ethernet bounds check is still there for the verifier. The boundary is tested at 14 bytes.
        passed("TruncatedAfterEthernet", "14-byte frame, ethertype IPv4, no IP header",
               event(kTopicSingle).truncate(14).build(), none, TEMPOS_PASS_MALFORMED),
        passed("TruncatedInVlanTag", "802.1Q tag cut after 2 bytes",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.vlan(0x8100, 1).truncate(16); }), none,
               TEMPOS_PASS_NOT_IPV4),
        passed("TruncatedInSecondVlanTag", "QinQ frame cut inside the inner tag",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.vlan(0x88a8, 1).vlan(0x8100, 2).truncate(20); }),
               none, TEMPOS_PASS_NOT_IPV4),
        passed("TruncatedInIpHeader", "19 bytes of IP header", event(kTopicSingle).truncate(14 + 19).build(), none,
               TEMPOS_PASS_MALFORMED),
        passed("TruncatedInIpOptions", "ihl 6, frame ends inside the options",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.ip_options({1, 1, 1, 0}).truncate(14 + 22); }),
               none, TEMPOS_PASS_MALFORMED),
        passed("TruncatedInUdpHeader", "tot_len matches the frame, which ends inside the UDP header",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.tot_len(27).truncate(14 + 27); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("ZeroPayloadBytes", "UDP to our port with no payload: no topic",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.payload({}); }), none, TEMPOS_PASS_NO_PAYLOAD),

        // Inconsistent IPv4.
        passed("IhlBelow5", "ihl 4", tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.ihl(4); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("IpVersion6InIpv4Frame", "version field 6 behind ethertype IPv4",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.version(6); }), none, TEMPOS_PASS_MALFORMED),
        passed("TotLenLargerThanFrame", "tot_len 1 byte beyond the frame",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.tot_len(20 + 8 + 12 + 1); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("TotLenSmallerThanDatagram", "tot_len 1 byte short of the UDP datagram",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.tot_len(20 + 8 + 12 - 1); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("TotLenBelowIhl", "tot_len 16 < ihl*4",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.tot_len(16); }), none, TEMPOS_PASS_MALFORMED),
        passed("MoreFragmentsSet", "MF set, offset 0",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.frag_off(0x2000); }), none, TEMPOS_PASS_FRAGMENT),
        passed("FragmentOffsetSet", "offset 185 (x8 bytes), MF clear",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.frag_off(185); }), none, TEMPOS_PASS_FRAGMENT),

        // Not for us.
        passed("Ipv6PayloadLengthBeyondFrame", "ethertype IPv6, 60 bytes of 0x60: payload length 0x6060 > the frame",
               PacketBuilder().eth(kMomMac, kPublisherMac).raw_l3(PacketBuilder::kEthIpv6, Bytes(60, 0x60)).build(),
               none, TEMPOS_PASS_MALFORMED),
        passed("Arp", "ARP request",
               PacketBuilder()
                   .eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kPublisherMac)
                   .raw_l3(PacketBuilder::kEthArp,
                           {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 7, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1})
                   .build(),
               none, TEMPOS_PASS_NOT_IPV4),
        passed("VlanInnerNotIp", "802.1Q tag around an ARP frame",
               PacketBuilder().eth(kMomMac, kPublisherMac).vlan(0x8100, 5).raw_l3(PacketBuilder::kEthArp, Bytes(28, 0))
                   .build(),
               none, TEMPOS_PASS_NOT_IPV4),
        passed("TcpToMomPort", "TCP segment to port 9998",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.tcp(kPublisherPort, kMomPort); }), none,
               TEMPOS_PASS_NOT_OUR_PORT),
        passed("UdpToOtherPort", "UDP to port 9999", event(kTopicSingle, 9999).build(), none,
               TEMPOS_PASS_NOT_OUR_PORT),
        passed("Port9998NotConfigured", "program configured for 7777: 9998 is not ours",
               event(kTopicSingle, kMomPort).build(), none, TEMPOS_PASS_NOT_OUR_PORT, port7777),
        passed("UdpLenTooLarge", "udp.len 1 byte larger than the datagram",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.udp_len(8 + 12 + 1); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("UdpLenTooSmall", "udp.len 1 byte smaller than the datagram",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.udp_len(8 + 12 - 1); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("UdpLenBelowHeader", "udp.len 4 < 8 (tot_len consistent with it)",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.udp_len(4).tot_len(24).payload({}); }), none,
               TEMPOS_PASS_MALFORMED),
        passed("HandCraftedMismatch", "hand-written 24-byte IPv4 with tot_len 40",
               PacketBuilder().eth(kMomMac, kPublisherMac).raw_l3(PacketBuilder::kEthIpv4, l3_24).build(), none,
               TEMPOS_PASS_MALFORMED),

        // To our port, but not addressed to this MoM: untouched, counted as not for us.
        passed("BroadcastNotForUs", "broadcast MAC and 255.255.255.255 to our port",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.eth(kBroadcastMac, kPublisherMac).ipv4(kPublisherIp, kBroadcastIp); }),
               none, TEMPOS_PASS_NOT_FOR_US),
        passed("BroadcastIpToOurMacNotForUs", "our MAC, destination 255.255.255.255",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.ipv4(kPublisherIp, kBroadcastIp); }), none,
               TEMPOS_PASS_NOT_FOR_US),
        passed("OtherHostMacNotForUs", "our address behind another host's MAC (bridge, mirror, promiscuous port)",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.eth(kOtherHostMac, kPublisherMac); }), none,
               TEMPOS_PASS_NOT_FOR_US),
        passed("VlanOtherHostMacNotForUs", "802.1Q-tagged frame to another host's MAC",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.eth(kOtherHostMac, kPublisherMac).vlan(PacketBuilder::kVlan8021Q, 100); }),
               none, TEMPOS_PASS_NOT_FOR_US),
        passed("OtherLocalAddressNotForUs", "our MAC, a local address the MoM does not listen on",
               tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.ipv4(kPublisherIp, kNotListenedIp); }), none,
               TEMPOS_PASS_NOT_FOR_US),
        to_sub_a("SecondListenedAddressRoutes",
                 "a second address the MoM listens on (listen 0.0.0.0) routes", to_other_mom),

        // Topics.
        passed("UnknownTopic", "topic 200 has no route", event(kTopicUnknown).build(), kTopicUnknown,
               TEMPOS_PASS_NOT_STRICT),
        passed("BestEffortTopic", "best-effort topic 5 is served by the socket path", event(kTopicBestEffort).build(),
               kTopicBestEffort, TEMPOS_PASS_NOT_STRICT),
        passed("FanoutTopic", "topic 10 is served by the TC fan-out program: passed, counted apart",
               event(kTopicFanout).build(), kTopicFanout, TEMPOS_PASS_FANOUT),
        passed("Ttl1", "TTL 1 on a strict topic", tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.ttl(1); }),
               kTopicSingle, TEMPOS_PASS_TTL),
        passed("Ttl0", "TTL 0 on a strict topic", tweaked_frame(kTopicSingle, [](PacketBuilder& b) { b.ttl(0); }),
               kTopicSingle, TEMPOS_PASS_TTL),
        passed("FibNoRoute", "member without MAC and no route to it: bpf_fib_lookup fails", event(kTopicFib).build(),
               kTopicFib, TEMPOS_PASS_FIB),
        passed("EgressMissingFromDevmap", "member's ifindex not in egress_ports", event(kTopicNoEgress).build(),
               kTopicNoEgress, TEMPOS_PASS_NO_EGRESS),
        passed("PartialChecksumTooLongPassed",
               "CHECKSUM_PARTIAL, native, 2049-byte datagram: longer than the router completes, passed untouched",
               partial_too_long.build(), kTopicSingle, TEMPOS_PASS_PARTIAL_CSUM),
    };
    // A route with count 0: counted as aborted (no pass reason), the frame passes untouched.
    RouterFixture aborted{"RouteWithZeroMembersAborted", "route with count 0: aborted counter, frame passes",
                          event(kTopicBadRoute).build(), XDP_PASS, event(kTopicBadRoute).build(), kTopicBadRoute};
    aborted.counter.aborted = 1;
    rows.push_back(std::move(aborted));
    for (RouterFixture& row : best_effort_rows()) rows.push_back(std::move(row));
    for (RouterFixture& row : egress_rows()) rows.push_back(std::move(row));
    for (RouterFixture& row : admission_rows()) rows.push_back(std::move(row));
    for (RouterFixture& row : ipv6_rows()) rows.push_back(std::move(row));
    for (RouterFixture& row : ipv6_best_effort_rows()) rows.push_back(std::move(row));
    for (RouterFixture& row : rows)
        row.needs_second_interface = row.counter_slot == kTopicOtherNic || row.counter_slot == kTopicVlanOtherNic ||
                                     row.counter_slot == kTopicFibSecondNic;
    return rows;
}

tempos_endpoint endpoint(const Ipv4Addr& ip, std::uint16_t port, std::optional<MacAddr> mac, const MacAddr& src_mac,
                         std::uint32_t ifindex) {
    tempos_endpoint ep{};
    std::memcpy(&ep.ipv4, ip.data(), 4);
    ep.port = htons(port);
    if (mac) {
        ep.flags = TEMPOS_EP_HAS_MAC;
        std::memcpy(ep.mac, mac->data(), 6);
        std::memcpy(ep.src_mac, src_mac.data(), 6);
    }
    ep.ifindex = ifindex;
    return ep;
}

tempos_endpoint endpoint(const Ipv6Addr& ip, std::uint16_t port, std::optional<MacAddr> mac, const MacAddr& src_mac,
                         std::uint32_t ifindex) {
    tempos_endpoint ep = endpoint(Ipv4Addr{}, port, mac, src_mac, ifindex);
    ep.flags |= TEMPOS_EP_IPV6;
    std::memcpy(ep.ipv6, ip.data(), sizeof(ep.ipv6));
    return ep;
}

xdp::LocalDestinations standard_local_destinations() {
    return {{kMomMac, kOtherNicMac}, {kMomIp, kMomIpAlias, kMomIpNearZero}, {kMomIp6, kMomIp6Alias}};
}

Status install_local_destinations(int local_destinations_fd) {
    return xdp::DestinationTable(local_destinations_fd).set(standard_local_destinations());
}

Status install_standard_routes(const RouterMaps& maps, std::uint32_t second_interface, const MomConstants& mom) {
    if (Status local = install_local_destinations(maps.local_destinations); !local) return local;
    struct Entry {
        std::uint8_t topic;
        tempos_route route;
    };
    std::vector<Entry> entries{
        {kTopicSingle, route_of({with_mac(kSubA)})},
        {kTopicThree, route_of({with_mac(kSubA), with_mac(kSubB), with_mac(kSubC)})},
        {kTopicFib, route_of({endpoint(kUnroutedIp, 7000, std::nullopt, {}, 0)})},
        {kTopicNoEgress, route_of({with_mac(kSubFar, kMissingIfindex, kOtherNicMac)})},
        {kTopicIngressNic, route_of({with_mac(kSubA, kLoopbackIfindex)})},
        {kTopicOnes, route_of({with_mac(kSubOnes)})},
        {kTopicVlanIngressNic, route_of({with_mac(kSubA, kVlanOnIngressIfindex)})},
        {kTopicSingle6, route_of({with_mac6(kSubA6)})},
        {kTopicTwo6, route_of({with_mac6(kSubA6), with_mac6(kSubB6)})},
        {kTopicFib6, route_of({endpoint(kUnroutedIp6, 7000, std::nullopt, {}, 0)})},
        {kTopicOnes6, route_of({with_mac6(kSubOnes6)})},
        {kTopicVlanIngressNic6, route_of({with_mac6(kSubA6, kVlanOnIngressIfindex)})},
    };
    if (Status st = install_egress_vlan(maps, kVlanOnIngressIfindex, {kLoopbackIfindex, PacketBuilder::kVlan8021Q, kEgressVid});
        !st)
        return st;
    if (second_interface != 0) {
        if (bpf_map_update_elem(maps.egress_ports, &second_interface, &second_interface, BPF_ANY) != 0)
            return errno_status("egress_ports update");
        entries.push_back({kTopicOtherNic, route_of({with_mac(kSubFar, second_interface, kOtherNicMac)})});
        entries.push_back({kTopicVlanOtherNic, route_of({with_mac(kSubFar, kVlanOnSecondIfindex, kOtherNicMac)})});
        entries.push_back(
            {kTopicFibSecondNic, route_of({endpoint(kSecondNicNeighbourIp, 7000, std::nullopt, {}, second_interface)})});
        if (Status st = install_egress_vlan(maps, kVlanOnSecondIfindex,
                                            {second_interface, PacketBuilder::kVlan8021AD, kSecondEgressVid});
            !st)
            return st;
    }
    xdp::RouteTable routes(maps.topic_routes, maps.topic_counters);
    for (const Entry& e : entries)
        if (Status st = routes.set(e.topic, e.route); !st) return st;
    if (Status st = install_fanout_topic(maps, kTopicFanout); !st) return st;
    if (Status st = install_bad_route(maps, kTopicBadRoute); !st) return st;
    // What the adapter's configure_qos() does for every topic: strict ones never take the best-effort CPUs.
    for (const std::uint8_t topic : {kTopicSingle, kTopicThree, kTopicFib, kTopicOtherNic, kTopicNoEgress,
                                     kTopicIngressNic, kTopicOnes, kTopicBadRoute, kTopicFanout, kTopicStrictSocket,
                                     kTopicVlanIngressNic, kTopicVlanOtherNic, kTopicFibSecondNic, kTopicSingle6,
                                     kTopicTwo6, kTopicFib6, kTopicOnes6, kTopicVlanIngressNic6})
        if (Status st = xdp::set_topic_class(maps.best_effort, topic, true); !st) return st;
    if (Status st = install_standard_limits(maps); !st) return st;
    std::set<unsigned> cpus;
    for (unsigned cpu = 0; cpu < mom.best_effort_cpus; ++cpu) cpus.insert(cpu);
    return xdp::install_best_effort_cpus(maps.best_effort, cpus, 64);
}

}  // namespace tempos::testkit
