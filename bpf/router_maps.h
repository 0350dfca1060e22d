/* Maps of the XDP topic router. Names are part of the contract with user space (bpf/route_table.hpp and the
 * adapter); every value type comes from include/tempos/xdp_abi.h. */
#ifndef TEMPOS_ROUTER_MAPS_H
#define TEMPOS_ROUTER_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "published_map.h"
#include "fanout_routes_map.h"

/* topic -> route (one subscription group), in a published map (published_map.h).
 *
 * Why not a plain ARRAY of routes: a user-space update of an ARRAY element is a memcpy that a packet on another
 * CPU can observe half-done (new count with old subscribers). Why not a HASH: its update is atomic (the element is
 * replaced), but every lookup hashes the key and walks a bucket through a helper call. */
TEMPOS_PUBLISHED_MAP(topic_routes, TEMPOS_MAX_TOPICS, 1, struct tempos_route);

/* Per-CPU counters per topic, slot TEMPOS_NO_TOPIC_SLOT for frames without a topic. It also holds the
 * round-robin cursor, so one inlined per-CPU lookup per packet serves both. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TEMPOS_MAX_TOPICS + 1);
	__type(key, __u32);
	__type(value, struct tempos_topic_counters);
} topic_counters SEC(".maps");

/* Egress interfaces other than the ingress one, keyed by ifindex (multi-NIC redirect). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} egress_ports SEC(".maps");

#endif /* TEMPOS_ROUTER_MAPS_H */
