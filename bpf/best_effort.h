/* Best-effort isolation, kernel half (docs/isolation.md). Every frame for the MoM's port that the router does not
 * serve itself and whose topic is not strict (best-effort and unknown topics) is redirected through a cpumap to
 * the best-effort CPUs: the skb is built and the UDP stack runs in that cpumap's kthread, at normal priority, so
 * the NAPI poll that serves strict frames does XDP work only. Strict frames the router passes up (fan-out
 * hand-overs, TTL, FIB, no egress, strict topics on the socket path) stay XDP_PASS: they must never wait in, or
 * be dropped by, the best-effort queue.
 *
 * A cpumap-entry program (BPF_XDP_CPUMAP) counts each frame as it leaves the queue, on the target CPU: offered
 * (counted by the router) minus arrived is what the cpumap queues dropped.
 *
 * Included by router.bpf.c after mom_port is defined; user space: plugin/xdp_attachment.cpp. */
#ifndef TEMPOS_BEST_EFFORT_H
#define TEMPOS_BEST_EFFORT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "csum.h"
#include "parsing.h"
#include "router_maps.h"
#include "udp_csum_partial.h"

/* Set by the loader (rodata): valid entries of be_cpu_slots. 0: isolation off, everything passes. */
const volatile __u32 best_effort_cpu_count = 0;

/* Map names stay within the kernel's 15 characters: tempos-inspect finds the maps by name.
 * CPU number -> queue size and the entry program (struct bpf_cpumap_val), one kthread per entry. */
struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, TEMPOS_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} be_cpumap SEC(".maps");

/* 0..best_effort_cpu_count-1 -> a CPU number with an entry in be_cpumap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TEMPOS_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} be_cpu_slots SEC(".maps");

/* topic -> TEMPOS_CLASS_* flags, written by the adapter for every configured topic. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TEMPOS_MAX_TOPICS);
	__type(key, __u32);
	__type(value, __u32);
} topic_classes SEC(".maps");

#define TEMPOS_NOT_REDIRECTED (-1)

static __always_inline int topic_is_strict(__u32 topic)
{
	__u32 *class = bpf_map_lookup_elem(&topic_classes, &topic);
	return class && (*class & TEMPOS_CLASS_STRICT);
}

/* XDP_REDIRECT toward a best-effort CPU, or TEMPOS_NOT_REDIRECTED (the caller passes the frame and counts why):
 * isolation off, a strict topic, or no cpumap entry for the chosen CPU. */
static __always_inline int to_best_effort(struct tempos_event_view *view, __u32 topic)
{
	if (best_effort_cpu_count == 0)
		return TEMPOS_NOT_REDIRECTED;
	if (topic_is_strict(topic))
		return TEMPOS_NOT_REDIRECTED;
	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &topic);
	if (!counters)
		return TEMPOS_NOT_REDIRECTED;

	/* One flow (source address and port) always goes to the same CPU, so its events keep their order. */
	__u32 flow = view->ip->saddr ^ view->udp->source;
	flow ^= flow >> 16;
	__u32 slot = flow % best_effort_cpu_count;
	__u32 *cpu = bpf_map_lookup_elem(&be_cpu_slots, &slot);
	if (!cpu)
		return TEMPOS_NOT_REDIRECTED;
	if (bpf_redirect_map(&be_cpumap, *cpu, 0) != XDP_REDIRECT)
		return TEMPOS_NOT_REDIRECTED;

	/* The skb built after the cpumap is CHECKSUM_NONE: a CHECKSUM_PARTIAL datagram's field (udp_csum_partial.h)
	 * would fail verification. 0 means "no checksum" in IPv4 and needs no other change; a complete checksum
	 * equal to the partial field (1 in 65536) only loses its check. */
	struct udphdr *udp = view->udp;
	if (udp->check && udp->check == udp_partial_field(view->ip->saddr, view->ip->daddr, udp->len))
		udp->check = 0;
	counters->best_effort_offered++;
	return XDP_REDIRECT;
}

/* Runs on the best-effort CPU for each frame leaving its cpumap queue, before the skb is built. */
SEC("xdp/cpumap")
int tempos_best_effort_entry(struct xdp_md *ctx)
{
	struct tempos_event_view view;
	if (parse_event(ctx, mom_port, &view) != TEMPOS_PARSE_OK)
		return XDP_PASS;
	__u32 topic = view.payload[0];
	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &topic);
	if (counters)
		counters->best_effort_arrived++;
	return XDP_PASS;
}

#endif /* TEMPOS_BEST_EFFORT_H */
