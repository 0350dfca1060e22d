/* Maps of the TC fan-out program. Names are part of the contract with user space (bpf/fanout_table.hpp); every
 * value type comes from include/tempos/xdp_abi.h. */
#ifndef TEMPOS_FANOUT_MAPS_H
#define TEMPOS_FANOUT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"

#include "fanout_routes_map.h"

/* Per-CPU counters and round-robin cursor of each (topic, group): key topic * TEMPOS_MAX_FANOUT_GROUPS + group.
 * One map key per group instead of an array inside one value keeps every access at a constant offset. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TEMPOS_MAX_TOPICS * TEMPOS_MAX_FANOUT_GROUPS);
	__type(key, __u32);
	__type(value, struct tempos_fanout_group_counters);
} fanout_group_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TEMPOS_MAX_TOPICS);
	__type(key, __u32);
	__type(value, struct tempos_fanout_topic_counters);
} fanout_topic_counters SEC(".maps");

#endif /* TEMPOS_FANOUT_MAPS_H */
