/* Best-effort isolation, kernel half (docs/isolation.md). Every frame for the MoM's port that the router does not
 * serve itself and whose topic is not strict (best-effort and unknown topics), IPv4 or IPv6, is redirected
 * through a cpumap to the best-effort CPUs: the skb is built and the UDP stack runs in that cpumap's kthread, at
 * normal priority, so the NAPI poll that serves strict frames does XDP work only. Strict frames the router passes up (fan-out
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
#include "parsing6.h"
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

static __always_inline int topic_is_strict(__u32 topic)
{
	__u32 *class = bpf_map_lookup_elem(&topic_classes, &topic);
	return class && (*class & TEMPOS_CLASS_STRICT);
}

/* The best-effort CPU of a flow, from a stable hash of its source address and port: one flow always goes to the
 * same CPU, so its events keep their order. NULL: no entry for that slot. */
static __always_inline __u32 *best_effort_cpu_of(__u32 flow)
{
	flow ^= flow >> 16;
	__u32 slot = flow % best_effort_cpu_count;
	return bpf_map_lookup_elem(&be_cpu_slots, &slot);
}

/* Writes an IPv6 event's UDP checksum field: through the frame pointer behind the IPv6 header, or at its offset
 * behind extension headers (parsing6.h, udp_by_offset). */
static __always_inline void store_udp6_check(struct xdp_md *ctx, const struct tempos_event_view *view, __be16 check)
{
	if (!view->udp_by_offset) {
		struct udphdr *udp = (void *)(view->ip6 + 1);
		/* Parsed so; checked again for the verifier, which knows ip6's bounds only. */
		if ((void *)(udp + 1) <= (void *)(long)ctx->data_end) {
			udp->check = check;
			return;
		}
	}
	bpf_xdp_store_bytes(ctx, view->l4_off + offsetof(struct udphdr, check), &check, sizeof(check));
}

/* TEMPOS_PARSE_OK once the frame is redirected toward a best-effort CPU, else the reason to pass it (the caller
 * counts it): not_strict (isolation off, a strict topic, no cpumap entry for the chosen CPU) or, IPv6 only,
 * partial_csum. `ipv6` is a constant, as in route_event.
 *
 * The skb built after the cpumap is CHECKSUM_NONE, so a CHECKSUM_PARTIAL datagram's field (the pseudo-header sum,
 * udp_csum_partial.h) would fail verification there:
 *  - IPv4: set to 0, "no checksum", which needs no other change; a complete checksum equal to the partial field
 *    (1 in 65536) only loses its check;
 *  - IPv6, where 0 is not allowed: completed as the router completes a routed one (tempos_udp_check_prepare with
 *    no address or port change), which is also right for a complete checksum equal to the partial field. In
 *    generic mode the plan keeps the field: the skb itself goes through the cpumap, still CHECKSUM_PARTIAL. A
 *    datagram too long to complete (native, over TEMPOS_CSUM_MAX_DATAGRAM) is passed up untouched,
 *    partial_csum: decided before the redirect. */
static __always_inline int to_best_effort(struct xdp_md *ctx, struct tempos_event_view *view, __u32 topic,
					  const int ipv6)
{
	if (best_effort_cpu_count == 0)
		return TEMPOS_PASS_NOT_STRICT;
	if (topic_is_strict(topic))
		return TEMPOS_PASS_NOT_STRICT;
	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &topic);
	if (!counters)
		return TEMPOS_PASS_NOT_STRICT;

	struct tempos_udp_check_plan plan = {}; /* zeroed: without CAP_PERFMON the verifier refuses a read of a stack slot no path wrote */
	__u32 partial6 = 0;
	__u32 flow;
	if (ipv6) {
		const __u32 *saddr = (const __u32 *)&view->ip6->saddr;
		const __u32 *daddr = (const __u32 *)&view->ip6->daddr;
		__u16 field = udp6_partial_field(saddr, daddr, bpf_htons(view->udp_len));
		if (view->udp_check == field) {
			if (tempos_udp_check_prepare(ctx, view, field, 0, 0, &plan) < 0)
				return TEMPOS_PASS_PARTIAL_CSUM;
			partial6 = 1;
		}
		flow = saddr[0] ^ saddr[1] ^ saddr[2] ^ saddr[3] ^ view->udp_source;
	} else {
		flow = view->ip->saddr ^ view->udp->source;
	}
	__u32 *cpu = best_effort_cpu_of(flow);
	if (!cpu)
		return TEMPOS_PASS_NOT_STRICT;
	if (bpf_redirect_map(&be_cpumap, *cpu, 0) != XDP_REDIRECT)
		return TEMPOS_PASS_NOT_STRICT;

	if (ipv6) {
		if (partial6)
			store_udp6_check(ctx, view, rewritten_udp_check(&plan));
	} else {
		struct udphdr *udp = view->udp;
		if (udp->check && udp->check == udp_partial_field(view->ip->saddr, view->ip->daddr, udp->len))
			udp->check = 0;
	}
	counters->best_effort_offered++;
	return TEMPOS_PARSE_OK;
}

/* Runs on the best-effort CPU for each frame leaving its cpumap queue, before the skb is built. */
SEC("xdp/cpumap")
int tempos_best_effort_entry(struct xdp_md *ctx)
{
	struct tempos_event_view view;
	if (parse_event(ctx, mom_port, &view) != TEMPOS_PARSE_OK)
		return XDP_PASS;
	__u32 topic = view.topic;
	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &topic);
	if (counters)
		counters->best_effort_arrived++;
	return XDP_PASS;
}

#endif /* TEMPOS_BEST_EFFORT_H */
