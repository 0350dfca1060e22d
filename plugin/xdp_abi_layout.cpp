// The layout of every struct in include/tempos/xdp_abi.h, checked by the C++ compiler: the BPF programs (clang,
// target bpf) and user space read the same bytes of the same maps, so a field that moves or a struct that grows
// must break the build, not the routing. Compiled into xdp_adapter_core, hence into every build.
#include <cstddef>

#include "tempos/xdp_abi.h"

namespace {

#define TEMPOS_ABI_FIELD(type, field, offset) \
    static_assert(offsetof(type, field) == (offset), #type "." #field " moved")

static_assert(sizeof(tempos_endpoint) == 24 && alignof(tempos_endpoint) == 4);
TEMPOS_ABI_FIELD(tempos_endpoint, ipv4, 0);
TEMPOS_ABI_FIELD(tempos_endpoint, port, 4);
TEMPOS_ABI_FIELD(tempos_endpoint, flags, 6);
TEMPOS_ABI_FIELD(tempos_endpoint, mac, 8);
TEMPOS_ABI_FIELD(tempos_endpoint, src_mac, 14);
TEMPOS_ABI_FIELD(tempos_endpoint, ifindex, 20);

static_assert(sizeof(tempos_route) == 8 + 24 * TEMPOS_MAX_SUBSCRIBERS && alignof(tempos_route) == 4);
TEMPOS_ABI_FIELD(tempos_route, count, 0);
TEMPOS_ABI_FIELD(tempos_route, _pad, 4);
TEMPOS_ABI_FIELD(tempos_route, subs, 8);

static_assert(TEMPOS_PASS_REASONS == 10, "a new pass reason changes tempos_topic_counters");
static_assert(sizeof(tempos_topic_counters) == 32 + 8 * TEMPOS_PASS_REASONS && alignof(tempos_topic_counters) == 8);
TEMPOS_ABI_FIELD(tempos_topic_counters, rr_next, 0);
TEMPOS_ABI_FIELD(tempos_topic_counters, _pad, 4);
TEMPOS_ABI_FIELD(tempos_topic_counters, redirected_packets, 8);
TEMPOS_ABI_FIELD(tempos_topic_counters, redirected_bytes, 16);
TEMPOS_ABI_FIELD(tempos_topic_counters, aborted, 24);
TEMPOS_ABI_FIELD(tempos_topic_counters, passed, 32);

static_assert(sizeof(tempos_fanout_member) == 32 && alignof(tempos_fanout_member) == 4);
TEMPOS_ABI_FIELD(tempos_fanout_member, ep, 0);
TEMPOS_ABI_FIELD(tempos_fanout_member, group_size, 24);
TEMPOS_ABI_FIELD(tempos_fanout_member, _pad, 28);

static_assert(sizeof(tempos_fanout_group_counters) == 40 && alignof(tempos_fanout_group_counters) == 8);
TEMPOS_ABI_FIELD(tempos_fanout_group_counters, rr_next, 0);
TEMPOS_ABI_FIELD(tempos_fanout_group_counters, _pad, 4);
TEMPOS_ABI_FIELD(tempos_fanout_group_counters, copies, 8);
TEMPOS_ABI_FIELD(tempos_fanout_group_counters, bytes, 16);
TEMPOS_ABI_FIELD(tempos_fanout_group_counters, clone_errors, 24);
TEMPOS_ABI_FIELD(tempos_fanout_group_counters, unresolved, 32);

static_assert(sizeof(tempos_fanout_topic_counters) == 40 && alignof(tempos_fanout_topic_counters) == 8);
TEMPOS_ABI_FIELD(tempos_fanout_topic_counters, events, 0);
TEMPOS_ABI_FIELD(tempos_fanout_topic_counters, passed_ttl, 8);
TEMPOS_ABI_FIELD(tempos_fanout_topic_counters, passed_unresolved, 16);
TEMPOS_ABI_FIELD(tempos_fanout_topic_counters, passed_gso, 24);
TEMPOS_ABI_FIELD(tempos_fanout_topic_counters, aborted, 32);

#undef TEMPOS_ABI_FIELD

}  // namespace
