/* Maps of the XDP topic router. Names are part of the contract with user space (bpf/route_table.hpp and the
 * adapter); every value type comes from include/tempos/xdp_abi.h. */
#ifndef TEMPOS_ROUTER_MAPS_H
#define TEMPOS_ROUTER_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "fanout_routes_map.h"

/* One subscription group, published once and never written again. */
struct tempos_route_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	/* Sizes, not BTF types: clang would emit struct tempos_route only as a forward declaration here. */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct tempos_route));
};

/* topic -> route, as an array of single-entry array maps.
 *
 * Why not a plain ARRAY of routes: a user-space update of an ARRAY element is a memcpy that a packet on another
 * CPU can observe half-done (new count with old subscribers). Why not a HASH: its update is atomic (the element is
 * replaced), but every lookup hashes the key and walks a bucket through a helper call.
 *
 * Here an update is: user space creates a FRESH inner map, writes entry 0 (and freezes it), then replaces the
 * outer slot. The kernel swaps the inner-map pointer atomically and frees the old inner map only after an RCU
 * grace period, so a packet sees either the old or the new route, never a mix. An inner map is never written
 * after it is published. Both lookups are array lookups that the verifier inlines into a bounds check plus
 * pointer arithmetic: no helper call and no hashing on the per-packet path. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, TEMPOS_MAX_TOPICS);
	__type(key, __u32);
	__array(values, struct tempos_route_inner);
} topic_routes SEC(".maps");

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
