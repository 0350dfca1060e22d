/* fanout_routes, the one map both kernel programs read: the TC fan-out program routes by it, and the XDP router
 * looks a topic up in it only to count a hand-over (TEMPOS_PASS_FANOUT). The adapter loads the router first and
 * gives this map's fd to the fan-out program (bpf_map__reuse_fd), so there is one map and no second copy of the
 * set of fanned-out topics to keep in step. */
#ifndef TEMPOS_FANOUT_ROUTES_MAP_H
#define TEMPOS_FANOUT_ROUTES_MAP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"

/* One topic's groups and members (see struct tempos_fanout_member), published once and never written again. */
struct tempos_fanout_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TEMPOS_FANOUT_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tempos_fanout_member));
};

/* topic -> fan-out route; the same atomic-update scheme as topic_routes (bpf/router_maps.h): user space fills a
 * FRESH inner map, freezes it and swaps the outer slot, so a packet sees the old or the new route, never a mix. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, TEMPOS_MAX_TOPICS);
	__type(key, __u32);
	__array(values, struct tempos_fanout_inner);
} fanout_routes SEC(".maps");

#endif /* TEMPOS_FANOUT_ROUTES_MAP_H */
