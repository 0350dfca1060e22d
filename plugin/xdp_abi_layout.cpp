// The layout of every struct in include/tempos/xdp_abi.h, checked by the C++ compiler: the BPF programs (clang,
// target bpf) and user space read the same bytes of the same maps, so a field that moves or a struct that grows
// must break the build, not the routing. Compiled into xdp_adapter_core, hence into every build.
#include <cstddef>

#include "tempos/xdp_abi.h"

namespace {

// The offsets of a struct's fields, in declaration order, against the expected ones.
template <std::size_t N>
constexpr bool offsets_are(const std::size_t (&actual)[N], const std::size_t (&expected)[N]) {
    for (std::size_t i = 0; i < N; ++i)
        if (actual[i] != expected[i]) return false;
    return true;
}

#define AT(field) offsetof(TEMPOS_ABI_STRUCT, field)

#define TEMPOS_ABI_STRUCT tempos_endpoint
static_assert(sizeof(tempos_endpoint) == 40 && alignof(tempos_endpoint) == 4);
static_assert(offsets_are({AT(ipv4), AT(port), AT(flags), AT(mac), AT(src_mac), AT(ifindex), AT(ipv6)},
                          {0, 4, 6, 8, 14, 20, 24}),
              "a field of tempos_endpoint moved");
#undef TEMPOS_ABI_STRUCT

#define TEMPOS_ABI_STRUCT tempos_route
static_assert(sizeof(tempos_route) == 8 + sizeof(tempos_endpoint) * TEMPOS_MAX_SUBSCRIBERS);
static_assert(alignof(tempos_route) == 4 && offsets_are({AT(count), AT(_pad), AT(subs)}, {0, 4, 8}),
              "a field of tempos_route moved");
#undef TEMPOS_ABI_STRUCT

// A new pass reason grows tempos_topic_counters: the BPF side and every reader must agree on the count.
#define TEMPOS_ABI_STRUCT tempos_topic_counters
static_assert(TEMPOS_PASS_REASONS == 15 && TEMPOS_POLICE_REASONS == 3 &&
              sizeof(tempos_topic_counters) == 32 + 8 * TEMPOS_PASS_REASONS + 16 + 8 * TEMPOS_POLICE_REASONS);
static_assert(alignof(tempos_topic_counters) == 8 &&
                  offsets_are({AT(rr_next), AT(_pad), AT(redirected_packets), AT(redirected_bytes), AT(aborted),
                               AT(passed), AT(best_effort_offered), AT(best_effort_arrived), AT(policed)},
                              {0, 4, 8, 16, 24, 32, 152, 160, 168}),
              "a field of tempos_topic_counters moved");
#undef TEMPOS_ABI_STRUCT

#define TEMPOS_ABI_STRUCT tempos_rate_limit
static_assert(sizeof(tempos_rate_limit) == 16 && alignof(tempos_rate_limit) == 8 &&
                  offsets_are({AT(interval_ns), AT(tolerance_ns)}, {0, 8}),
              "a field of tempos_rate_limit moved");
#undef TEMPOS_ABI_STRUCT

// Compare-and-swap works on the aligned 64-bit word.
static_assert(sizeof(tempos_bucket) == 8 && alignof(tempos_bucket) == 8 && offsetof(tempos_bucket, tat_ns) == 0);
// The version names this layout: a change above without a bump breaks the build here.
static_assert(TEMPOS_XDP_ABI_VERSION == 7);

#define TEMPOS_ABI_STRUCT tempos_local_set
static_assert(sizeof(tempos_local_set) ==
                      16 + 8 * TEMPOS_MAX_LOCAL_MACS + 4 * TEMPOS_MAX_LOCAL_IPV4 + 16 * TEMPOS_MAX_LOCAL_IPV6 &&
                  alignof(tempos_local_set) == 8 &&
                  offsets_are({AT(mac_count), AT(ipv4_count), AT(ipv6_count), AT(_pad), AT(macs), AT(ipv4), AT(ipv6)},
                              {0, 4, 8, 12, 16, 16 + 8 * TEMPOS_MAX_LOCAL_MACS,
                               16 + 8 * TEMPOS_MAX_LOCAL_MACS + 4 * TEMPOS_MAX_LOCAL_IPV4}) &&
                  AT(ipv6) % 8 == 0,
              "a field of tempos_local_set moved");
#undef TEMPOS_ABI_STRUCT

#define TEMPOS_ABI_STRUCT tempos_local_destinations
static_assert(TEMPOS_LOCAL_VERSIONS == 2 &&
                  sizeof(tempos_local_destinations) == 8 + TEMPOS_LOCAL_VERSIONS * sizeof(tempos_local_set) &&
                  offsets_are({AT(current), AT(_pad), AT(versions)}, {0, 4, 8}),
              "a field of tempos_local_destinations moved");
#undef TEMPOS_ABI_STRUCT

static_assert(sizeof(tempos_ipv6_key) == 16 && alignof(tempos_ipv6_key) == 1);
// pub_buckets' key: the source address in four words (the router builds it on its stack and hashes 16 bytes).
static_assert(sizeof(tempos_source_key) == 16 && alignof(tempos_source_key) == 4 && offsetof(tempos_source_key, addr) == 0);

#define TEMPOS_ABI_STRUCT tempos_egress_vlan
static_assert(sizeof(tempos_egress_vlan) == 8 && alignof(tempos_egress_vlan) == 4 &&
                  offsets_are({AT(lower_ifindex), AT(tpid), AT(tci)}, {0, 4, 6}),
              "a field of tempos_egress_vlan moved");
#undef TEMPOS_ABI_STRUCT

#define TEMPOS_ABI_STRUCT tempos_fanout_member
static_assert(sizeof(tempos_fanout_member) == 48 && alignof(tempos_fanout_member) == 4 &&
                  offsets_are({AT(ep), AT(group_size), AT(_pad)}, {0, 40, 44}),
              "a field of tempos_fanout_member moved");
#undef TEMPOS_ABI_STRUCT

#define TEMPOS_ABI_STRUCT tempos_fanout_group_counters
static_assert(sizeof(tempos_fanout_group_counters) == 48 && alignof(tempos_fanout_group_counters) == 8);
static_assert(offsets_are({AT(rr_next), AT(_pad), AT(copies), AT(bytes), AT(clone_errors), AT(unresolved), AT(too_big)},
                          {0, 4, 8, 16, 24, 32, 40}),
              "a field of tempos_fanout_group_counters moved");
#undef TEMPOS_ABI_STRUCT

#define TEMPOS_ABI_STRUCT tempos_fanout_topic_counters
static_assert(sizeof(tempos_fanout_topic_counters) == 56 && alignof(tempos_fanout_topic_counters) == 8 &&
                  offsets_are({AT(events), AT(passed_ttl), AT(passed_unresolved), AT(passed_gso), AT(aborted),
                               AT(passed_too_big), AT(passed_family)},
                              {0, 8, 16, 24, 32, 40, 48}),
              "a field of tempos_fanout_topic_counters moved");
#undef TEMPOS_ABI_STRUCT

#undef AT

}  // namespace
