// SPDX-License-Identifier: GPL-2.0
/* The XDP topic router: routes Strict events (UDP datagrams to the MoM's port whose first payload byte is a
 * topic) to one subscriber of the topic's subscription group without leaving the kernel. Best-effort events go
 * through a cpumap to the best-effort CPUs (best_effort.h); events over a rate limit are dropped
 * (admission.h); everything else is returned untouched with XDP_PASS,
 * so the MoM's socket path serves it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "csum.h"
#include "destination.h"
#include "egress_vlan.h"
#include "parsing.h"
#include "router_maps.h"
#include "udp_csum_partial.h"

#define TEMPOS_AF_INET 2 /* not in the uapi headers */

/* Set by the loader before load (the skeleton's rodata): the MoM's UDP port and IPv4 address, network order.
 * mom_ipv4 == 0: the rewritten source is the frame's original destination address. */
const volatile __be16 mom_port = 0;
const volatile __be32 mom_ipv4 = 0;

#include "admission.h"
#include "best_effort.h"

/* Counts a frame the router passes (XDP_PASS, passed[reason]) or drops (XDP_DROP, policed[reason]) and returns
 * that verdict. Global, not static: the verifier checks a global function once, with unknown arguments, so
 * `passed[reason]` is the same bounded variable offset on every call path. Inlined, clang merges the call sites
 * and the offset becomes a different constant per path, which the verifier's Spectre v1 rules refuse without
 * CAP_PERFMON. Only the pass and drop paths pay for the call. */
__noinline int count_verdict(__u32 slot, __u32 reason, int verdict)
{
	/* One register for the bounds check and the index, or clang checks one copy and indexes with another. */
	__u64 index = reason;
	tempos_opaque(index);
	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &slot);
	if (!counters)
		return verdict;
	if (verdict == XDP_DROP) {
		if (index < TEMPOS_POLICE_REASONS)
			counters->policed[index]++;
	} else if (index < TEMPOS_PASS_REASONS) {
		counters->passed[index]++;
	}
	return verdict;
}

static __always_inline int count_pass(__u32 slot, __u32 reason)
{
	return count_verdict(slot, reason, XDP_PASS);
}

/* Where the frame goes: both MACs and the egress interface (0 = the ingress one). */
struct tempos_next_hop {
	const __u8 *src_mac;
	const __u8 *dst_mac;
	__u32 ifindex;
};

/* Both addresses are in the IP header and in the UDP pseudo-header: one delta serves both checksums. */
static __always_inline __u64 address_delta(const struct tempos_event_view *view, __be32 new_saddr,
					   const struct tempos_endpoint *sub)
{
	return csum_replace32(view->ip->saddr, new_saddr) + csum_replace32(view->ip->daddr, sub->ipv4);
}

static __always_inline void rewrite(struct tempos_event_view *view, const struct tempos_next_hop *hop,
				    const struct tempos_endpoint *sub, __be32 new_saddr, __u64 addr_delta,
				    const struct tempos_udp_check_plan *udp_plan)
{
	__builtin_memcpy(view->eth->h_dest, hop->dst_mac, ETH_ALEN);
	__builtin_memcpy(view->eth->h_source, hop->src_mac, ETH_ALEN);

	struct iphdr *ip = view->ip;
	struct udphdr *udp = view->udp;

	/* TTL shares a 16-bit checksum word with the protocol. */
	__u16 *ttl_word = (__u16 *)&ip->ttl;
	__u16 old_ttl_word = *ttl_word;
	ip->ttl--;
	ip->check = csum_update(ip->check, addr_delta + csum_replace16(old_ttl_word, *ttl_word));
	ip->saddr = new_saddr;
	ip->daddr = sub->ipv4;

	/* Whatever form the UDP checksum came in (udp_csum_partial.h); 0 ("none") stays 0. */
	if (udp->check) {
		__u16 check = csum_update((__u16)udp_plan->old, udp_plan->delta) ^ (__u16)udp_plan->flip;
		udp->check = check ? check : 0xffff;
	}
	udp->dest = sub->port;
}

SEC("xdp")
int tempos_router(struct xdp_md *ctx)
{
	struct tempos_event_view view;
	int reason = parse_event(ctx, mom_port, &view);
	if (reason != TEMPOS_PARSE_OK)
		return count_pass(TEMPOS_NO_TOPIC_SLOT, reason);
	if (!tempos_addressed_to_us(view.eth->h_dest, view.ip->daddr))
		return count_pass(TEMPOS_NO_TOPIC_SLOT, TEMPOS_PASS_NOT_FOR_US);

	__u32 topic = view.payload[0];
	int verdict = admit(topic, view.ip->saddr, !topic_is_strict(topic));
	if (verdict != TEMPOS_ADMITTED)
		return count_verdict(topic, verdict, XDP_DROP);

	void *route_slot = bpf_map_lookup_elem(&topic_routes, &topic);
	if (!route_slot) {
		if (bpf_map_lookup_elem(&fanout_routes, &topic))
			return count_pass(topic, TEMPOS_PASS_FANOUT);
		int action = to_best_effort(&view, topic);
		return action == XDP_REDIRECT ? action : count_pass(topic, TEMPOS_PASS_NOT_STRICT);
	}
	__u32 zero = 0;
	const struct tempos_route *route = bpf_map_lookup_elem(route_slot, &zero);
	if (!route)
		return count_pass(topic, TEMPOS_PASS_NOT_STRICT);

	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &topic);
	if (!counters) /* cannot happen: topic < max_entries; keeps the verifier satisfied */
		return XDP_PASS;

	if (view.ip->ttl <= 1)
		return count_pass(topic, TEMPOS_PASS_TTL);

	/* A route is validated by user space (RouteTable::set); one written by other means with a bad count is
	 * counted as aborted and the frame left to the socket path. */
	__u32 count = route->count;
	if (count == 0 || count > TEMPOS_MAX_SUBSCRIBERS) {
		counters->aborted++;
		return XDP_PASS;
	}
	/* Per-CPU cursor, no division. It advances even if the chosen subscriber cannot be reached below: the
	 * socket path then delivers that frame and the next one tries the next subscriber. */
	__u32 index = counters->rr_next;
	const struct tempos_endpoint *sub;
	/* Two separate address computations: merged, the offset would be the constant 0 on one path and a
	 * variable on the other, which the verifier refuses without CAP_PERFMON. */
	if (index < count) {
		sub = &route->subs[index];
		tempos_opaque(sub);
	} else {
		index = 0;
		sub = &route->subs[0];
		tempos_opaque(sub);
	}
	counters->rr_next = index + 1;

	__be32 new_saddr = mom_ipv4 ? mom_ipv4 : view.ip->daddr;
	struct tempos_next_hop hop;
	struct bpf_fib_lookup fib;
	if (sub->flags & TEMPOS_EP_HAS_MAC) {
		hop.src_mac = sub->src_mac;
		hop.dst_mac = sub->mac;
		hop.ifindex = sub->ifindex;
	} else {
		/* The MoM is the source of the rewritten datagram, so this is an output lookup. Its ifindex is the
		 * interface the route is expected on: the endpoint's if set, else the ingress one. Any failure
		 * (NO_NEIGH in particular) passes: the socket path delivers the frame and the kernel resolves the
		 * neighbour for the next ones. Note: the kernel answers FWD_DISABLED unless IPv4 forwarding is enabled
		 * on that interface (net.ipv4.conf.<if>.forwarding), even for an output lookup. */
		__builtin_memset(&fib, 0, sizeof(fib));
		fib.family = TEMPOS_AF_INET;
		fib.l4_protocol = IPPROTO_UDP;
		fib.sport = view.udp->source;
		fib.dport = sub->port;
		fib.tot_len = view.ip_tot_len;
		fib.tos = view.ip->tos;
		fib.ipv4_src = new_saddr;
		fib.ipv4_dst = sub->ipv4;
		fib.ifindex = sub->ifindex ? sub->ifindex : ctx->ingress_ifindex;
		long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
		/* The FIB checks the route's MTU before the neighbour: too long is its own reason, resolved or not. */
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
			return count_pass(topic, TEMPOS_PASS_TOO_BIG);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS)
			return count_pass(topic, TEMPOS_PASS_FIB);
		hop.src_mac = fib.smac;
		hop.dst_mac = fib.dmac;
		hop.ifindex = fib.ifindex;
	}

	/* The device the frame is handed to and its tagging (egress_vlan.h): the egress interface's own, never the
	 * ingress tags. 0: the ingress device (XDP_TX). */
	__u32 out_dev = 0;
	__be16 tpid = 0, tci = 0;
	if (hop.ifindex != 0 && hop.ifindex != ctx->ingress_ifindex) {
		__u32 egress = hop.ifindex;
		const struct tempos_egress_vlan *vlan = bpf_map_lookup_elem(&egress_vlans, &egress);
		out_dev = egress;
		if (vlan) {
			out_dev = vlan->lower_ifindex;
			tpid = vlan->tpid;
			tci = vlan->tci;
		}
		if (out_dev == ctx->ingress_ifindex)
			out_dev = 0;
	}

	/* Decided before the rewrite, so a frame with no usable egress or an incomplete checksum the program cannot
	 * complete leaves untouched. */
	__u64 addr_delta = address_delta(&view, new_saddr, sub);
	struct tempos_udp_check_plan udp_plan;
	if (tempos_udp_check_prepare(ctx, &view, addr_delta, csum_replace16(view.udp->dest, sub->port), &udp_plan) < 0)
		return count_pass(topic, TEMPOS_PASS_PARTIAL_CSUM);
	int action = XDP_TX;
	if (out_dev != 0) {
		action = bpf_redirect_map(&egress_ports, out_dev, XDP_PASS);
		if (action != XDP_REDIRECT)
			return count_pass(topic, TEMPOS_PASS_NO_EGRESS);
		/* The kernel drops a redirected frame longer than the device's MTU (xdp_ok_fwd_dev) without telling
		 * anyone: the socket path sends it instead, fragmented. XDP_TX: it arrived through that device. */
		__u32 mtu_len = view.ip_tot_len;
		long mtu = bpf_check_mtu(ctx, out_dev, &mtu_len, 0, 0);
		if (mtu == BPF_MTU_CHK_RET_FRAG_NEEDED)
			return count_pass(topic, TEMPOS_PASS_TOO_BIG);
		if (mtu != BPF_MTU_CHK_RET_SUCCESS)
			return count_pass(topic, TEMPOS_PASS_NO_EGRESS);
	}

	rewrite(&view, &hop, sub, new_saddr, addr_delta, &udp_plan);
	__u32 frame_len = view.frame_len;
	if (tempos_set_egress_tag(ctx, tpid, tci) < 0) {
		/* Rewritten but not re-tagged (no headroom: not seen in practice): it must not leave with the wrong tag. */
		counters->aborted++;
		return XDP_DROP;
	}
	counters->redirected_packets++;
	counters->redirected_bytes += frame_len;
	return action;
}

char LICENSE[] SEC("license") = "GPL";
