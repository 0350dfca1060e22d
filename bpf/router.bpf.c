// SPDX-License-Identifier: GPL-2.0
/* The XDP topic router: routes Strict events (UDP datagrams to the MoM's port whose first payload byte is a
 * topic) to one subscriber of the topic's subscription group without leaving the kernel. Best-effort events go
 * through a cpumap to the best-effort CPUs (best_effort.h); events over a rate limit are dropped
 * (admission.h); everything else is returned untouched with XDP_PASS,
 * so the MoM's socket path serves it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "csum.h"
#define TEMPOS_DESTINATION_IPV6 /* the router checks IPv6 destinations too */
#include "destination.h"
#include "egress_vlan.h"
#include "parsing.h"
#include "parsing6.h"
#include "router_maps.h"
#include "udp_csum_partial.h"

#define TEMPOS_AF_INET 2   /* not in the uapi headers */
#define TEMPOS_AF_INET6 10
#define TEMPOS_IPV6_FLOWINFO 0x0fffffff /* traffic class and flow label: the first word without the version */

/* Set by the loader before load (the skeleton's rodata): the MoM's UDP port and IPv4 and IPv6 addresses, network
 * order. An address 0 (::): the rewritten source is the frame's original destination address. */
const volatile __be16 mom_port = 0;
const volatile __be32 mom_ipv4 = 0;
const volatile __be32 mom_ipv6[4] = {0, 0, 0, 0};

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

/* Counts a frame as aborted and returns the verdict. Global for the same reason: inlined, clang merges its
 * increment with the routed path's (counters + 24 or + 16 on one instruction), which the verifier refuses without
 * CAP_PERFMON. */
__noinline int count_aborted(__u32 slot, int verdict)
{
	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &slot);
	if (counters)
		counters->aborted++;
	return verdict;
}

/* Where the frame goes: both MACs and the egress interface (0 = the ingress one). */
struct tempos_next_hop {
	const __u8 *src_mac;
	const __u8 *dst_mac;
	__u32 ifindex;
};

/* The device the frame is handed to and its tagging (egress_vlan.h). */
struct tempos_egress {
	__u32 out_dev; /* 0: the ingress device (XDP_TX) */
	__be16 tpid;
	__be16 tci;
};

/* The member of the route this frame goes to, round-robin; NULL for a route with a bad count (the caller counts it
 * as aborted). A route is validated by user space (RouteTable::set); one written by other means is left to the
 * socket path. */
static __always_inline const struct tempos_endpoint *pick_member(const struct tempos_route *route,
								 struct tempos_topic_counters *counters)
{
	__u32 count = route->count;
	if (count == 0 || count > TEMPOS_MAX_SUBSCRIBERS)
		return 0;
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
	return sub;
}

/* The egress interface's own device and tagging, never the ingress tags. */
static __always_inline void egress_of(struct xdp_md *ctx, const struct tempos_next_hop *hop,
				      struct tempos_egress *egress)
{
	egress->out_dev = 0;
	egress->tpid = 0;
	egress->tci = 0;
	if (hop->ifindex != 0 && hop->ifindex != ctx->ingress_ifindex) {
		__u32 ifindex = hop->ifindex;
		const struct tempos_egress_vlan *vlan = bpf_map_lookup_elem(&egress_vlans, &ifindex);
		egress->out_dev = ifindex;
		if (vlan) {
			egress->out_dev = vlan->lower_ifindex;
			egress->tpid = vlan->tpid;
			egress->tci = vlan->tci;
		}
		if (egress->out_dev == ctx->ingress_ifindex)
			egress->out_dev = 0;
	}
}

/* The action toward the egress device (XDP_TX or XDP_REDIRECT into egress_ports) in *action; TEMPOS_PARSE_OK or
 * the reason to pass the frame untouched. */
static __always_inline int hand_over(struct xdp_md *ctx, const struct tempos_egress *egress, __u32 ip_len,
				     int *action)
{
	*action = XDP_TX;
	if (egress->out_dev == 0)
		return TEMPOS_PARSE_OK;
	*action = bpf_redirect_map(&egress_ports, egress->out_dev, XDP_PASS);
	if (*action != XDP_REDIRECT)
		return TEMPOS_PASS_NO_EGRESS;
	/* The kernel drops a redirected frame longer than the device's MTU (xdp_ok_fwd_dev) without telling anyone:
	 * the socket path sends it instead, fragmented. XDP_TX: it arrived through that device. */
	__u32 mtu_len = ip_len;
	long mtu = bpf_check_mtu(ctx, egress->out_dev, &mtu_len, 0, 0);
	if (mtu == BPF_MTU_CHK_RET_FRAG_NEEDED)
		return TEMPOS_PASS_TOO_BIG;
	if (mtu != BPF_MTU_CHK_RET_SUCCESS)
		return TEMPOS_PASS_NO_EGRESS;
	return TEMPOS_PARSE_OK;
}

/* After the rewrite: the egress tagging, the counters, the action. */
static __always_inline int send_rewritten(struct xdp_md *ctx, __u32 topic, struct tempos_topic_counters *counters,
					  const struct tempos_egress *egress, __u32 frame_len, int action)
{
	/* Rewritten but not re-tagged (no headroom: not seen in practice): it must not leave with the wrong tag. */
	if (tempos_set_egress_tag(ctx, egress->tpid, egress->tci) < 0)
		return count_aborted(topic, XDP_DROP);
	counters->redirected_packets++;
	counters->redirected_bytes += frame_len;
	return action;
}

/* A member with a MAC: its configured next hop. */
static __always_inline void configured_hop(const struct tempos_endpoint *sub, struct tempos_next_hop *hop)
{
	hop->src_mac = sub->src_mac;
	hop->dst_mac = sub->mac;
	hop->ifindex = sub->ifindex;
}

/* A member without a MAC: the MoM is the source of the rewritten datagram, so this is an output lookup, from the
 * interface the route is expected on (the endpoint's if set, else the ingress one). The caller adds the family's
 * fields between the two steps. */
static __always_inline void fib_prepare(struct xdp_md *ctx, const struct tempos_event_view *view,
					const struct tempos_endpoint *sub, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->l4_protocol = IPPROTO_UDP;
	fib->sport = view->udp_source;
	fib->dport = sub->port;
	fib->tot_len = view->ip_tot_len;
	fib->ifindex = sub->ifindex ? sub->ifindex : ctx->ingress_ifindex;
}

/* TEMPOS_PARSE_OK with *hop filled, or the reason to pass the frame. Any failure (NO_NEIGH in particular) passes:
 * the socket path delivers the frame and the kernel resolves the neighbour for the next ones. The FIB checks the
 * route's MTU before the neighbour: too long is its own reason, resolved or not. */
static __always_inline int fib_resolve(struct xdp_md *ctx, struct bpf_fib_lookup *fib, struct tempos_next_hop *hop)
{
	long rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return TEMPOS_PASS_TOO_BIG;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return TEMPOS_PASS_FIB;
	hop->src_mac = fib->smac;
	hop->dst_mac = fib->dmac;
	hop->ifindex = fib->ifindex;
	return TEMPOS_PARSE_OK;
}

/* The next hop and the egress: the member's configured hop, or for a member without a MAC the FIB's answer to
 * `fib`, which the caller prepared (fib_prepare and the family's fields). TEMPOS_PARSE_OK or the reason to pass
 * the frame. */
static __always_inline int next_hop(struct xdp_md *ctx, const struct tempos_endpoint *sub, struct bpf_fib_lookup *fib,
				    struct tempos_next_hop *hop, struct tempos_egress *egress)
{
	if (sub->flags & TEMPOS_EP_HAS_MAC) {
		configured_hop(sub, hop);
	} else {
		int reason = fib_resolve(ctx, fib, hop);
		if (reason != TEMPOS_PARSE_OK)
			return reason;
	}
	egress_of(ctx, hop, egress);
	return TEMPOS_PARSE_OK;
}

/* Decided before the rewrite, so a frame with no usable egress or an incomplete checksum the program cannot
 * complete leaves untouched: the UDP checksum's plan and the action toward the egress device. TEMPOS_PARSE_OK or
 * the reason to pass the frame. */
static __always_inline int plan_send(struct xdp_md *ctx, const struct tempos_event_view *view,
				     const struct tempos_egress *egress, __u16 partial, __u64 addr_delta, __u64 port_delta,
				     struct tempos_udp_check_plan *udp_plan, int *action)
{
	if (tempos_udp_check_prepare(ctx, view, partial, addr_delta, port_delta, udp_plan) < 0)
		return TEMPOS_PASS_PARTIAL_CSUM;
	return hand_over(ctx, egress, view->ip_tot_len, action);
}

/* ---- IPv4 ---- */

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

	/* 0 ("none") stays 0. */
	if (udp->check)
		udp->check = rewritten_udp_check(udp_plan);
	udp->dest = sub->port;
}

/* route_event's IPv4 half: the event toward IPv4 member `sub`. */
static __always_inline int send_to_ipv4_member(struct xdp_md *ctx, struct tempos_event_view *view, __u32 topic,
					       struct tempos_topic_counters *counters,
					       const struct tempos_endpoint *sub)
{
	__be32 new_saddr = mom_ipv4 ? mom_ipv4 : view->ip->daddr;
	struct bpf_fib_lookup fib;
	if (!(sub->flags & TEMPOS_EP_HAS_MAC)) {
		/* The kernel answers FWD_DISABLED unless IPv4 forwarding is enabled on that interface
		 * (net.ipv4.conf.<if>.forwarding), even for an output lookup. */
		fib_prepare(ctx, view, sub, &fib);
		fib.family = TEMPOS_AF_INET;
		fib.tos = view->ip->tos;
		fib.ipv4_src = new_saddr;
		fib.ipv4_dst = sub->ipv4;
	}
	struct tempos_next_hop hop;
	struct tempos_egress egress;
	int reason = next_hop(ctx, sub, &fib, &hop, &egress);
	if (reason != TEMPOS_PARSE_OK)
		return count_pass(topic, reason);

	__u64 addr_delta = address_delta(view, new_saddr, sub);
	struct tempos_udp_check_plan udp_plan;
	__u16 partial = udp_partial_field(view->ip->saddr, view->ip->daddr, view->udp->len);
	int action;
	reason = plan_send(ctx, view, &egress, partial, addr_delta, csum_replace16(view->udp->dest, sub->port),
			   &udp_plan, &action);
	if (reason != TEMPOS_PARSE_OK)
		return count_pass(topic, reason);

	rewrite(view, &hop, sub, new_saddr, addr_delta, &udp_plan);
	return send_rewritten(ctx, topic, counters, &egress, view->frame_len, action);
}

/* ---- IPv6 (parsing6.h, docs/ipv6.md) ---- */

/* No IP header checksum: the addresses count in the UDP pseudo-header only. The UDP checksum is mandatory, so it
 * is always updated (parse_ipv6_udp passes a datagram whose field is 0). */
static __always_inline void rewrite6(struct xdp_md *ctx, struct tempos_event_view *view,
				     const struct tempos_next_hop *hop, const struct tempos_endpoint *sub,
				     const __be32 *new_saddr, const struct tempos_udp_check_plan *udp_plan)
{
	__builtin_memcpy(view->eth->h_dest, hop->dst_mac, ETH_ALEN);
	__builtin_memcpy(view->eth->h_source, hop->src_mac, ETH_ALEN);

	struct ipv6hdr *ip6 = view->ip6;
	ip6->hop_limit--;
	__builtin_memcpy(&ip6->saddr, new_saddr, sizeof(ip6->saddr));
	__builtin_memcpy(&ip6->daddr, sub->ipv6, sizeof(ip6->daddr));

	__be16 check = rewritten_udp_check(udp_plan);
	if (!view->udp_by_offset) {
		struct udphdr *udp = (void *)(ip6 + 1);
		/* Parsed so; checked again for the verifier, which knows ip6's bounds only. */
		if ((void *)(udp + 1) <= (void *)(long)ctx->data_end) {
			udp->check = check;
			udp->dest = sub->port;
			return;
		}
	}
	/* Behind extension headers: written at its offset. The frame was read there, so the store cannot fail. */
	struct {
		__be16 dest;
		__be16 len;
		__be16 check;
	} tail = {sub->port, bpf_htons(view->udp_len), check};
	bpf_xdp_store_bytes(ctx, view->l4_off + 2, &tail, sizeof(tail));
}

/* route_event's IPv6 half: the event toward IPv6 member `sub`. */
static __always_inline int send_to_ipv6_member(struct xdp_md *ctx, struct tempos_event_view *view, __u32 topic,
					       struct tempos_topic_counters *counters,
					       const struct tempos_endpoint *sub)
{
	struct ipv6hdr *ip6 = view->ip6;
	/* Copied: the destination it may come from is overwritten by the rewrite. */
	__be32 new_saddr[4];
	if (mom_ipv6[0] | mom_ipv6[1] | mom_ipv6[2] | mom_ipv6[3]) {
		new_saddr[0] = mom_ipv6[0];
		new_saddr[1] = mom_ipv6[1];
		new_saddr[2] = mom_ipv6[2];
		new_saddr[3] = mom_ipv6[3];
	} else {
		__builtin_memcpy(new_saddr, &ip6->daddr, sizeof(new_saddr));
	}
	struct bpf_fib_lookup fib;
	if (!(sub->flags & TEMPOS_EP_HAS_MAC)) {
		/* The NDP neighbour table answers. The kernel answers FWD_DISABLED unless IPv6 forwarding is enabled on
		 * that interface (net.ipv6.conf.<if>.forwarding). */
		fib_prepare(ctx, view, sub, &fib);
		fib.family = TEMPOS_AF_INET6;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(TEMPOS_IPV6_FLOWINFO);
		__builtin_memcpy(fib.ipv6_src, new_saddr, sizeof(fib.ipv6_src));
		__builtin_memcpy(fib.ipv6_dst, sub->ipv6, sizeof(fib.ipv6_dst));
	}
	struct tempos_next_hop hop;
	struct tempos_egress egress;
	int reason = next_hop(ctx, sub, &fib, &hop, &egress);
	if (reason != TEMPOS_PARSE_OK)
		return count_pass(topic, reason);

	const __u32 *old_saddr = (const __u32 *)&ip6->saddr;
	const __u32 *old_daddr = (const __u32 *)&ip6->daddr;
	__u64 addr_delta = csum_replace128(old_saddr, new_saddr) + csum_replace128(old_daddr, sub->ipv6);
	struct tempos_udp_check_plan udp_plan;
	__u16 partial = udp6_partial_field(old_saddr, old_daddr, bpf_htons(view->udp_len));
	int action;
	reason = plan_send(ctx, view, &egress, partial, addr_delta, csum_replace16(mom_port, sub->port), &udp_plan,
			   &action);
	if (reason != TEMPOS_PARSE_OK)
		return count_pass(topic, reason);

	rewrite6(ctx, view, &hop, sub, new_saddr, &udp_plan);
	return send_rewritten(ctx, topic, counters, &egress, view->frame_len, action);
}

/* ---- Both families ---- */

/* The steps both families take, in this order: addressed to this MoM; admitted (admission.h: the per-publisher
 * limit, keyed by the full source address, for best-effort events, then the topic's); a strict route, else the
 * fan-out or the best-effort CPUs (best_effort.h); the route's member, of the event's family. `ipv6` is a
 * constant: each family gets its own inlined copy, which reads only its own header. */
static __always_inline int route_event(struct xdp_md *ctx, struct tempos_event_view *view, const int ipv6)
{
	int for_us = ipv6 ? tempos_addressed_to_us6(view->eth->h_dest, &view->ip6->daddr)
			  : tempos_addressed_to_us(view->eth->h_dest, view->ip->daddr);
	if (!for_us)
		return count_pass(TEMPOS_NO_TOPIC_SLOT, TEMPOS_PASS_NOT_FOR_US);

	__u32 topic = view->topic;
	/* The source's key only for best-effort events, the only ones its limit applies to: a strict event does not
	 * pay for building it. */
	struct tempos_source_key source, *publisher = NULL;
	if (!topic_is_strict(topic)) {
		if (ipv6)
			__builtin_memcpy(source.addr, &view->ip6->saddr, sizeof(source.addr));
		else
			ipv4_source_key(view->ip->saddr, &source);
		publisher = &source;
	}
	int verdict = admit(topic, publisher);
	if (verdict != TEMPOS_ADMITTED)
		return count_verdict(topic, verdict, XDP_DROP);

	void *route_slot = bpf_map_lookup_elem(&topic_routes, &topic);
	if (!route_slot) {
		if (bpf_map_lookup_elem(&fanout_routes, &topic))
			return count_pass(topic, TEMPOS_PASS_FANOUT);
		int reason = to_best_effort(ctx, view, topic, ipv6);
		return reason == TEMPOS_PARSE_OK ? XDP_REDIRECT : count_pass(topic, reason);
	}
	__u32 zero = 0;
	const struct tempos_route *route = bpf_map_lookup_elem(route_slot, &zero);
	if (!route)
		return count_pass(topic, TEMPOS_PASS_NOT_STRICT);

	struct tempos_topic_counters *counters = bpf_map_lookup_elem(&topic_counters, &topic);
	if (!counters) /* cannot happen: topic < max_entries; keeps the verifier satisfied */
		return XDP_PASS;

	if (view->hop_limit <= 1)
		return count_pass(topic, TEMPOS_PASS_TTL);

	const struct tempos_endpoint *sub = pick_member(route, counters);
	if (!sub)
		return count_aborted(topic, XDP_PASS);
	if (!(sub->flags & TEMPOS_EP_IPV6) != !ipv6)
		return count_pass(topic, TEMPOS_PASS_FAMILY);
	return ipv6 ? send_to_ipv6_member(ctx, view, topic, counters, sub)
		    : send_to_ipv4_member(ctx, view, topic, counters, sub);
}

SEC("xdp")
int tempos_router(struct xdp_md *ctx)
{
	struct tempos_l2 l2;
	struct tempos_event_view view;
	int reason = parse_l2(ctx, &l2);
	if (reason != TEMPOS_PARSE_OK)
		return count_pass(TEMPOS_NO_TOPIC_SLOT, reason);
	/* One path per family, so that neither reads the other's header. */
	if (l2.proto == bpf_htons(ETH_P_IPV6)) {
		reason = parse_ipv6_udp(ctx, mom_port, &l2, &view);
		if (reason != TEMPOS_PARSE_OK)
			return count_pass(TEMPOS_NO_TOPIC_SLOT, reason);
		return route_event(ctx, &view, 1);
	}
	if (l2.proto != bpf_htons(ETH_P_IP))
		return count_pass(TEMPOS_NO_TOPIC_SLOT, TEMPOS_PASS_NOT_IPV4);
	reason = parse_ipv4_udp(ctx, mom_port, &l2, &view);
	if (reason != TEMPOS_PARSE_OK)
		return count_pass(TEMPOS_NO_TOPIC_SLOT, reason);
	return route_event(ctx, &view, 0);
}

char LICENSE[] SEC("license") = "GPL";
