// SPDX-License-Identifier: GPL-2.0
/* The TC fan-out program: a strict event whose topic has several subscription groups leaves as one copy per
 * group, each rewritten toward that group's round-robin member: G - 1 clones, then the original itself,
 * redirected, for the last group; the MoM's socket never sees it. XDP cannot clone a frame, so the XDP router
 * lets these topics through (they are not in topic_routes) and this program, attached at TC ingress (tcx) of the
 * same interface, serves them. IPv4 and IPv6 events alike (docs/ipv6.md), a topic's members all of one family.
 * Anything else is returned untouched with TCX_NEXT, so the programs and tc filters behind this one on the
 * interface (a firewall, a policer) still see it. Design and limits: docs/fanout.md. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "csum.h"
#define TEMPOS_DESTINATION_IPV6 /* IPv6 events are fanned out too */
#include "destination.h"
#include "fanout_maps.h"
#include "fanout_parsing.h"

#define TEMPOS_AF_INET 2 /* not in the uapi headers */
#define TEMPOS_AF_INET6 10
#define TEMPOS_IPV6_FLOWINFO 0x0fffffff /* traffic class and flow label: the first word without the version */

/* "Not consumed, run the next program of the tcx chain, then the legacy tc filters": TCX_PASS (= TC_ACT_OK)
 * would end the chain there and silently bypass whatever sits behind the fan-out. enum tcx_action_base is
 * Linux 6.6 uapi, newer than Debian 12's headers (BPF_F_BEFORE came with it, as in tcx.hpp). */
#ifdef BPF_F_BEFORE
#define TEMPOS_TCX_NEXT TCX_NEXT
#else
#define TEMPOS_TCX_NEXT (-1)
#endif

/* Set by the loader before load (the skeleton's rodata), as for the router: network order; an address 0 (0.0.0.0,
 * ::) keeps the frame's original destination as the new source. */
const volatile __be16 mom_port = 0;
const volatile __be32 mom_ipv4 = 0;
const volatile __be32 mom_ipv6[4] = {0, 0, 0, 0};

/* What tempos_fanout_group does with the group. */
enum tempos_group_action {
	TEMPOS_GROUP_CHECK = 0, /* resolve only; nothing modified, the cursor only read */
	TEMPOS_GROUP_CLONE,     /* rewrite toward the member and send a clone */
	TEMPOS_GROUP_LAST,      /* rewrite toward the member and leave the egress ifindex in frame->last_ifindex: the
				 * original itself is redirected there, one clone and one header copy fewer per event */
};

enum tempos_group_result {
	TEMPOS_GROUP_SENT = 0,      /* the clone left / the original is ready / (check) the group can be served */
	TEMPOS_GROUP_NO_MORE,       /* g is past the topic's last group */
	TEMPOS_GROUP_UNRESOLVED,    /* no MAC and the FIB lookup failed */
	TEMPOS_GROUP_FAILED,        /* rewrite or bpf_clone_redirect failed */
	TEMPOS_GROUP_BAD_ROUTE,     /* inconsistent route slot */
	TEMPOS_GROUP_TOO_BIG,       /* no MAC and the FIB says the datagram exceeds the route's MTU (FRAG_NEEDED) */
	TEMPOS_GROUP_FAMILY,        /* the member is of the other IP family than the event (never turned into it) */
};

/* What every copy of one event shares, kept in the caller's stack. The address fields of the event's family
 * are used: IPv4 (new_saddr, cur_daddr, tos) or IPv6 (new_saddr6, cur_daddr6, flowinfo). */
struct tempos_fanout_frame {
	__u32 l3_off;
	__u32 l4_off;
	__u32 topic;
	__be32 new_saddr;
	__be32 cur_daddr; /* what the frame carries now: the previous copy's member */
	__be16 cur_dport;
	__be16 sport;
	__u16 tot_len;    /* the IP datagram's bytes (IPv6: 40 + payload length) */
	__u8 tos;
	__u8 ipv6;        /* the event's family: 1 IPv6 */
	__u32 last_ifindex; /* set by TEMPOS_GROUP_LAST */
	__be32 flowinfo;
	__be32 new_saddr6[4];
	__be32 cur_daddr6[4];
};

/* Points the frame at one member: both MACs, the destination address and port, and the checksums. The helpers
 * update the IPv4 checksum and the UDP checksum (pseudo-header) for whatever state the skb's checksum is in
 * (CHECKSUM_PARTIAL from a local sender included); BPF_F_MARK_MANGLED_0 keeps a UDP checksum of 0 ("none") at 0
 * and sends a computed 0 as 0xffff. */
static __always_inline int rewrite_toward(struct __sk_buff *skb, struct tempos_fanout_frame *frame,
					  const __u8 *macs, __be32 daddr, __be16 dport)
{
	__u32 ip_check = frame->l3_off + offsetof(struct iphdr, check);
	__u32 udp_check = frame->l4_off + offsetof(struct udphdr, check);

	if (bpf_skb_store_bytes(skb, 0, macs, 2 * ETH_ALEN, 0) < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, udp_check, frame->cur_daddr, daddr,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(daddr)) < 0)
		return -1;
	if (bpf_l3_csum_replace(skb, ip_check, frame->cur_daddr, daddr, sizeof(daddr)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, frame->l3_off + offsetof(struct iphdr, daddr), &daddr, sizeof(daddr), 0) < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, udp_check, frame->cur_dport, dport, BPF_F_MARK_MANGLED_0 | sizeof(dport)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, frame->l4_off + offsetof(struct udphdr, dest), &dport, sizeof(dport), 0) < 0)
		return -1;
	frame->cur_daddr = daddr;
	frame->cur_dport = dport;
	return 0;
}

/* The same for IPv6, which has no IP header checksum: the addresses count in the UDP pseudo-header only, and the
 * UDP checksum is never 0 (the parser passes a datagram whose field is 0; BPF_F_MARK_MANGLED_0 sends a computed 0
 * as 0xffff). The address's change goes in as one difference (RFC 1624, csum.h). The header stores recompute
 * skb->csum (CHECKSUM_COMPLETE: it covers the IPv6 header, which no IP checksum balances) and the pseudo-header
 * update takes the checksum field's own change out of it again. */
static __always_inline int rewrite_toward6(struct __sk_buff *skb, struct tempos_fanout_frame *frame,
					   const __u8 *macs, const __be32 *daddr, __be16 dport)
{
	__u32 udp_check = frame->l4_off + offsetof(struct udphdr, check);
	__u16 diff = csum_fold64(csum_replace128(frame->cur_daddr6, daddr));

	if (bpf_skb_store_bytes(skb, 0, macs, 2 * ETH_ALEN, 0) < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, udp_check, 0, diff, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, frame->l3_off + offsetof(struct ipv6hdr, daddr), daddr, 16,
				BPF_F_RECOMPUTE_CSUM) < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, udp_check, frame->cur_dport, dport, BPF_F_MARK_MANGLED_0 | sizeof(dport)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, frame->l4_off + offsetof(struct udphdr, dest), &dport, sizeof(dport), 0) < 0)
		return -1;
	__builtin_memcpy(frame->cur_daddr6, daddr, sizeof(frame->cur_daddr6));
	frame->cur_dport = dport;
	return 0;
}

/* One group of one event: picks the group's round-robin member and resolves its next hop; then, per `action`
 * (enum tempos_group_action), nothing more, or rewrites the frame toward it and sends a clone, or rewrites it for
 * the final redirect of the original. A global function, so the verifier checks it once, whatever g is, instead
 * of once per unrolled group (that took ~120k instructions and ~150 ms per load). */
__noinline int tempos_fanout_group(struct __sk_buff *skb, struct tempos_fanout_frame *frame, __u32 g, __u32 action)
{
	if (!frame || g >= TEMPOS_MAX_FANOUT_GROUPS) /* skb, a context argument, is never NULL */
		return TEMPOS_GROUP_BAD_ROUTE;
	__u32 topic = frame->topic;
	void *route = bpf_map_lookup_elem(&fanout_routes, &topic);
	if (!route)
		return TEMPOS_GROUP_BAD_ROUTE;
	__u32 first_slot = g * TEMPOS_MAX_SUBSCRIBERS;
	const struct tempos_fanout_member *first = bpf_map_lookup_elem(route, &first_slot);
	if (!first)
		return TEMPOS_GROUP_BAD_ROUTE;
	__u32 size = first->group_size;
	if (size == 0)
		return TEMPOS_GROUP_NO_MORE;
	if (size > TEMPOS_MAX_SUBSCRIBERS)
		return TEMPOS_GROUP_BAD_ROUTE;

	__u32 counters_key = topic * TEMPOS_MAX_FANOUT_GROUPS + g;
	struct tempos_fanout_group_counters *counters = bpf_map_lookup_elem(&fanout_group_counters, &counters_key);
	if (!counters)
		return TEMPOS_GROUP_BAD_ROUTE;
	/* Per-CPU cursor, no division; advances even if a later step fails, as in the router. */
	__u32 index = counters->rr_next;
	if (index >= size)
		index = 0;
	if (action != TEMPOS_GROUP_CHECK)
		counters->rr_next = index + 1;

	__u32 member_slot = first_slot + index;
	const struct tempos_fanout_member *member = bpf_map_lookup_elem(route, &member_slot);
	if (!member)
		return TEMPOS_GROUP_BAD_ROUTE;
	/* The router's rule (docs/ipv6.md): an event is never turned into the other family. The adapter refuses a
	 * kernel-path topic whose members mix families, so this is the whole topic: counted by the caller. */
	if (!(member->ep.flags & TEMPOS_EP_IPV6) != !frame->ipv6)
		return TEMPOS_GROUP_FAMILY;

	__u8 macs[2 * ETH_ALEN]; /* destination then source: the first 12 bytes of the frame */
	__u32 ifindex;
	if (member->ep.flags & TEMPOS_EP_HAS_MAC) {
		__builtin_memcpy(macs, member->ep.mac, ETH_ALEN);
		__builtin_memcpy(macs + ETH_ALEN, member->ep.src_mac, ETH_ALEN);
		ifindex = member->ep.ifindex ? member->ep.ifindex : skb->ifindex;
	} else {
		/* An output lookup from the MoM's address, as in the router (same FWD_DISABLED caveat: IPv4 or IPv6
		 * forwarding must be on for the interface; IPv6 answers from the NDP neighbour table). */
		struct bpf_fib_lookup fib;
		__builtin_memset(&fib, 0, sizeof(fib));
		fib.l4_protocol = IPPROTO_UDP;
		fib.sport = frame->sport;
		fib.dport = member->ep.port;
		fib.tot_len = frame->tot_len;
		if (frame->ipv6) {
			fib.family = TEMPOS_AF_INET6;
			fib.flowinfo = frame->flowinfo;
			__builtin_memcpy(fib.ipv6_src, frame->new_saddr6, sizeof(fib.ipv6_src));
			__builtin_memcpy(fib.ipv6_dst, member->ep.ipv6, sizeof(fib.ipv6_dst));
		} else {
			fib.family = TEMPOS_AF_INET;
			fib.tos = frame->tos;
			fib.ipv4_src = frame->new_saddr;
			fib.ipv4_dst = member->ep.ipv4;
		}
		fib.ifindex = member->ep.ifindex ? member->ep.ifindex : skb->ifindex;
		/* tot_len set: the FIB checks it against the route's MTU (before the neighbour), as in the router. */
		int fib_result = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
		if (fib_result == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
			/* An atomic add, so that clang cannot merge the two increments into one store at a variable
			 * offset (counters + 32 or + 40), which the verifier refuses without CAP_PERFMON. */
			__sync_fetch_and_add(&counters->too_big, 1);
			return TEMPOS_GROUP_TOO_BIG;
		}
		if (fib_result != BPF_FIB_LKUP_RET_SUCCESS) {
			counters->unresolved++;
			return TEMPOS_GROUP_UNRESOLVED;
		}
		__builtin_memcpy(macs, fib.dmac, ETH_ALEN);
		__builtin_memcpy(macs + ETH_ALEN, fib.smac, ETH_ALEN);
		ifindex = fib.ifindex;
	}
	if (action == TEMPOS_GROUP_CHECK)
		return TEMPOS_GROUP_SENT;

	/* bpf_clone_redirect makes the original's head private again after cloning, so the next group's rewrite
	 * never touches a copy already sent. */
	int rewritten = frame->ipv6 ? rewrite_toward6(skb, frame, macs, member->ep.ipv6, member->ep.port)
				    : rewrite_toward(skb, frame, macs, member->ep.ipv4, member->ep.port);
	if (rewritten < 0 ||
	    (action == TEMPOS_GROUP_CLONE && bpf_clone_redirect(skb, ifindex, 0) != 0)) {
		counters->clone_errors++;
		return TEMPOS_GROUP_FAILED;
	}
	frame->last_ifindex = ifindex;
	counters->copies++;
	counters->bytes += skb->len;
	return TEMPOS_GROUP_SENT;
}

/* The copies leave with their egress interface's tagging (docs/config.md#vlan): a VLAN sub-interface tags on
 * transmit, any other device sends them untagged. So the ingress tags go first: the one the stack moved into the
 * skb's metadata and those still in the frame (QinQ, or a frame not untagged by the stack). Each pop takes the
 * metadata tag, else one in the frame, and moves the next in-frame tag into the metadata: three pops at most for
 * the parser's two in-frame tags. The headers behind move up; ev's offsets follow. */
static __always_inline int untag(struct __sk_buff *skb, struct tempos_skb_event *ev)
{
#pragma clang loop unroll(full)
	for (int i = 0; i < 3; i++) {
		if (!skb->vlan_present && !is_vlan_proto(skb->protocol))
			break;
		if (bpf_skb_vlan_pop(skb) < 0)
			return -1;
	}
	if (skb->vlan_present || is_vlan_proto(skb->protocol))
		return -1;
	ev->l4_off -= ev->l3_off - ETH_HLEN;
	ev->l3_off = ETH_HLEN;
	return 0;
}

/* What every copy shares: the new source address and the TTL. The checksum helpers update the IPv4 checksum
 * and the UDP checksum (pseudo-header) for whatever state the skb's checksum is in (CHECKSUM_PARTIAL from a
 * local sender included); BPF_F_MARK_MANGLED_0 keeps a UDP checksum of 0 ("none") at 0 and sends a computed
 * 0 as 0xffff. */
static __always_inline int rewrite_common(struct __sk_buff *skb, const struct tempos_skb_event *ev,
					  __be32 new_saddr)
{
	__u32 ip_check = ev->l3_off + offsetof(struct iphdr, check);
	__u32 udp_check = ev->l4_off + offsetof(struct udphdr, check);

	/* TTL shares a 16-bit checksum word with the protocol. */
	__u8 ttl_proto[2] = {ev->ip.ttl - 1, ev->ip.protocol};
	__u16 old_word, new_word; /* as the checksum sees them: the two bytes as they lie in the frame */
	__builtin_memcpy(&old_word, &ev->ip.ttl, sizeof(old_word));
	__builtin_memcpy(&new_word, ttl_proto, sizeof(new_word));
	if (bpf_l3_csum_replace(skb, ip_check, old_word, new_word, 2) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ev->l3_off + offsetof(struct iphdr, ttl), ttl_proto, 2, 0) < 0)
		return -1;

	if (bpf_l4_csum_replace(skb, udp_check, ev->ip.saddr, new_saddr,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(new_saddr)) < 0)
		return -1;
	if (bpf_l3_csum_replace(skb, ip_check, ev->ip.saddr, new_saddr, sizeof(new_saddr)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ev->l3_off + offsetof(struct iphdr, saddr), &new_saddr, sizeof(new_saddr), 0) < 0)
		return -1;
	return 0;
}

/* IPv6: the hop limit (no checksum covers it; skb->csum is recomputed) and the new source (the UDP pseudo-header,
 * as rewrite_toward6). */
static __always_inline int rewrite_common6(struct __sk_buff *skb, const struct tempos_skb_event *ev,
					   const __be32 *new_saddr)
{
	__u32 udp_check = ev->l4_off + offsetof(struct udphdr, check);
	__u8 hop_limit = ev->ip6.hop_limit - 1;
	if (bpf_skb_store_bytes(skb, ev->l3_off + offsetof(struct ipv6hdr, hop_limit), &hop_limit, 1,
				BPF_F_RECOMPUTE_CSUM) < 0)
		return -1;
	__u16 diff = csum_fold64(csum_replace128((const __u32 *)&ev->ip6.saddr, new_saddr));
	if (bpf_l4_csum_replace(skb, udp_check, 0, diff, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ev->l3_off + offsetof(struct ipv6hdr, saddr), new_saddr, 16,
				BPF_F_RECOMPUTE_CSUM) < 0)
		return -1;
	return 0;
}

/* 1 if the event is addressed to this MoM (destination.h), for its family. */
static __always_inline int addressed_to_us(struct __sk_buff *skb, const struct tempos_skb_event *ev)
{
	__u8 dst_mac[ETH_ALEN];
	if (bpf_skb_load_bytes(skb, 0, dst_mac, sizeof(dst_mac)) < 0)
		return 0;
	if (ev->ipv6)
		return tempos_addressed_to_us6(dst_mac, &ev->ip6.daddr);
	return tempos_addressed_to_us(dst_mac, ev->ip.daddr);
}

SEC("tc")
int tempos_fanout(struct __sk_buff *skb)
{
	struct tempos_skb_event ev;
	if (parse_skb_event(skb, mom_port, &ev) != TEMPOS_PARSE_OK)
		return TEMPOS_TCX_NEXT; /* the XDP router has counted why */
	if (!addressed_to_us(skb, &ev))
		return TEMPOS_TCX_NEXT; /* counted by the router as TEMPOS_PASS_NOT_FOR_US */

	__u32 topic = ev.topic;
	if (!bpf_map_lookup_elem(&fanout_routes, &topic))
		return TEMPOS_TCX_NEXT; /* not a fan-out topic */
	struct tempos_fanout_topic_counters *topic_counters = bpf_map_lookup_elem(&fanout_topic_counters, &topic);
	if (!topic_counters) /* cannot happen: topic < max_entries */
		return TEMPOS_TCX_NEXT;

	if (ev.hop_limit <= 1) {
		topic_counters->passed_ttl++;
		return TEMPOS_TCX_NEXT;
	}
	if (skb->gso_segs > 1) {
		topic_counters->passed_gso++;
		return TEMPOS_TCX_NEXT;
	}

	struct tempos_fanout_frame frame = {
		.l3_off = ev.l3_off,
		.l4_off = ev.l4_off,
		.topic = topic,
		.cur_dport = ev.udp.dest,
		.sport = ev.udp.source,
		.tot_len = ev.ip_len,
		.ipv6 = ev.ipv6,
	};
	if (ev.ipv6) {
		__builtin_memcpy(frame.cur_daddr6, &ev.ip6.daddr, sizeof(frame.cur_daddr6));
		if (mom_ipv6[0] | mom_ipv6[1] | mom_ipv6[2] | mom_ipv6[3]) {
			frame.new_saddr6[0] = mom_ipv6[0];
			frame.new_saddr6[1] = mom_ipv6[1];
			frame.new_saddr6[2] = mom_ipv6[2];
			frame.new_saddr6[3] = mom_ipv6[3];
		} else {
			__builtin_memcpy(frame.new_saddr6, &ev.ip6.daddr, sizeof(frame.new_saddr6));
		}
		__be32 first_word;
		__builtin_memcpy(&first_word, &ev.ip6, sizeof(first_word));
		frame.flowinfo = first_word & bpf_htonl(TEMPOS_IPV6_FLOWINFO);
	} else {
		frame.new_saddr = mom_ipv4 ? mom_ipv4 : ev.ip.daddr;
		frame.cur_daddr = ev.ip.daddr;
		frame.tos = ev.ip.tos;
	}

	/* Pass 1: every group must be servable, else the socket path serves the whole event (each group once, and
	 * its send resolves the missing neighbour for the next events). Nothing is modified yet.
	 * Both loops are unrolled: each iteration is one call with a constant g. Without CAP_PERFMON the verifier
	 * also walks the mispredicted side of every branch, and could not bound a loop counter. */
	__u32 groups = 0;
#pragma clang loop unroll(full)
	for (__u32 g = 0; g < TEMPOS_MAX_FANOUT_GROUPS; g++) {
		int result = tempos_fanout_group(skb, &frame, g, TEMPOS_GROUP_CHECK);
		if (result == TEMPOS_GROUP_NO_MORE)
			break;
		if (result == TEMPOS_GROUP_UNRESOLVED) {
			topic_counters->passed_unresolved++;
			return TEMPOS_TCX_NEXT;
		}
		if (result == TEMPOS_GROUP_TOO_BIG) { /* the socket path sends it, fragmented by the kernel */
			topic_counters->passed_too_big++;
			return TEMPOS_TCX_NEXT;
		}
		if (result == TEMPOS_GROUP_FAMILY) { /* the socket path sends it through its member's family */
			__sync_fetch_and_add(&topic_counters->passed_family, 1);
			return TEMPOS_TCX_NEXT;
		}
		if (result != TEMPOS_GROUP_SENT) {
			topic_counters->aborted++;
			return TEMPOS_TCX_NEXT;
		}
		groups++;
	}
	if (groups == 0) {
		topic_counters->aborted++;
		return TEMPOS_TCX_NEXT;
	}
	/* Opaque: otherwise clang specialises pass 2 for each of pass 1's exits, keeping per-exit copies of its
	 * conditions on the stack (27 spill slots), and the stack of this function and tempos_fanout_group together
	 * passes the verifier's 512 bytes. */
	tempos_opaque(groups);

	/* Pass 2: the fields every copy shares, then one rewrite and clone per group but the last, whose copy is the
	 * original itself, redirected. A group that fails here (a neighbour gone between the passes, a failed clone)
	 * misses this event alone; it is counted. */
	int common = untag(skb, &ev);
	if (common == 0)
		common = ev.ipv6 ? rewrite_common6(skb, &ev, frame.new_saddr6) : rewrite_common(skb, &ev, frame.new_saddr);
	if (common < 0) {
		topic_counters->aborted++;
		return TC_ACT_SHOT; /* half rewritten: it must not reach the MoM looking like an event */
	}
	frame.l3_off = ev.l3_off;
	frame.l4_off = ev.l4_off;
	int last = TEMPOS_GROUP_FAILED;
#pragma clang loop unroll(full)
	for (__u32 g = 0; g < TEMPOS_MAX_FANOUT_GROUPS; g++) {
		if (g + 1 < groups)
			tempos_fanout_group(skb, &frame, g, TEMPOS_GROUP_CLONE);
		else if (g + 1 == groups)
			last = tempos_fanout_group(skb, &frame, g, TEMPOS_GROUP_LAST);
	}
	topic_counters->events++;
	if (last != TEMPOS_GROUP_SENT)
		return TC_ACT_SHOT; /* the last group misses this event (counted); the original must not go up */
	return bpf_redirect(frame.last_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
