// SPDX-License-Identifier: GPL-2.0
/* The TC fan-out program: a strict event whose topic has several subscription groups leaves as one clone per
 * group, each rewritten toward that group's round-robin member; the original is dropped, so the MoM's socket
 * never sees it. XDP cannot clone a frame, so the XDP router lets these topics through (they are not in
 * topic_routes) and this program, attached at TC ingress (tcx) of the same interface, serves them.
 * Anything else is returned untouched with TC_ACT_OK. Design and limits: docs/fanout.md. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "fanout_maps.h"
#include "fanout_parsing.h"

#define TEMPOS_AF_INET 2 /* not in the uapi headers */

/* Set by the loader before load (the skeleton's rodata), as for the router: network order; mom_ipv4 == 0 keeps
 * the frame's original destination as the new source. */
const volatile __be16 mom_port = 0;
const volatile __be32 mom_ipv4 = 0;

enum tempos_choice {
	TEMPOS_CHOSEN = 0,
	TEMPOS_NO_MORE_GROUPS,
	TEMPOS_UNRESOLVED,
	TEMPOS_BAD_ROUTE,
};

/* The resolved destination of one copy. */
struct tempos_copy_hop {
	__u8 macs[2 * ETH_ALEN]; /* destination then source: the first 12 bytes of the frame */
	__u32 ifindex;
	__be32 ipv4;
	__be16 port;
	struct tempos_fanout_group_counters *counters;
};

/* Picks group g's member and resolves its next hop. advance == 0 only peeks at the cursor: the first pass
 * checks that every group can be served before anything is rewritten or sent. */
static __always_inline int choose_member(struct __sk_buff *skb, void *route, __u32 topic, __u32 g,
					 const struct tempos_skb_event *ev, __be32 new_saddr, int advance,
					 struct tempos_copy_hop *hop)
{
	__u32 first_slot = g * TEMPOS_MAX_SUBSCRIBERS;
	const struct tempos_fanout_member *first = bpf_map_lookup_elem(route, &first_slot);
	if (!first)
		return TEMPOS_BAD_ROUTE;
	__u32 size = first->group_size;
	if (size == 0)
		return TEMPOS_NO_MORE_GROUPS;
	if (size > TEMPOS_MAX_SUBSCRIBERS)
		return TEMPOS_BAD_ROUTE;

	__u32 counters_key = topic * TEMPOS_MAX_FANOUT_GROUPS + g;
	struct tempos_fanout_group_counters *counters = bpf_map_lookup_elem(&fanout_group_counters, &counters_key);
	if (!counters)
		return TEMPOS_BAD_ROUTE;
	/* Per-CPU cursor, no division; advances even if a later step fails, as in the router. */
	__u32 index = counters->rr_next;
	if (index >= size)
		index = 0;
	if (advance)
		counters->rr_next = index + 1;
	hop->counters = counters;

	__u32 member_slot = first_slot + index;
	const struct tempos_fanout_member *member = bpf_map_lookup_elem(route, &member_slot);
	if (!member)
		return TEMPOS_BAD_ROUTE;
	hop->ipv4 = member->ep.ipv4;
	hop->port = member->ep.port;

	if (member->ep.flags & TEMPOS_EP_HAS_MAC) {
		__builtin_memcpy(hop->macs, member->ep.mac, ETH_ALEN);
		__builtin_memcpy(hop->macs + ETH_ALEN, member->ep.src_mac, ETH_ALEN);
		hop->ifindex = member->ep.ifindex ? member->ep.ifindex : skb->ifindex;
		return TEMPOS_CHOSEN;
	}
	/* An output lookup from the MoM's address, as in the router (same FWD_DISABLED caveat: IPv4 forwarding
	 * must be on for the interface). */
	struct bpf_fib_lookup fib;
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = TEMPOS_AF_INET;
	fib.l4_protocol = IPPROTO_UDP;
	fib.sport = ev->udp.source;
	fib.dport = member->ep.port;
	fib.tot_len = bpf_ntohs(ev->ip.tot_len);
	fib.tos = ev->ip.tos;
	fib.ipv4_src = new_saddr;
	fib.ipv4_dst = member->ep.ipv4;
	fib.ifindex = member->ep.ifindex ? member->ep.ifindex : skb->ifindex;
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT) != BPF_FIB_LKUP_RET_SUCCESS)
		return TEMPOS_UNRESOLVED;
	__builtin_memcpy(hop->macs, fib.dmac, ETH_ALEN);
	__builtin_memcpy(hop->macs + ETH_ALEN, fib.smac, ETH_ALEN);
	hop->ifindex = fib.ifindex;
	return TEMPOS_CHOSEN;
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

/* Points the frame at one member: both MACs, the destination address and port. cur_daddr/cur_dport hold what
 * the frame carries now (the previous copy's member) and are updated. */
static __always_inline int rewrite_toward(struct __sk_buff *skb, const struct tempos_skb_event *ev,
					  const struct tempos_copy_hop *hop, __be32 *cur_daddr, __be16 *cur_dport)
{
	__u32 ip_check = ev->l3_off + offsetof(struct iphdr, check);
	__u32 udp_check = ev->l4_off + offsetof(struct udphdr, check);
	__be32 daddr = hop->ipv4;
	__be16 dport = hop->port;

	if (bpf_skb_store_bytes(skb, 0, hop->macs, sizeof(hop->macs), 0) < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, udp_check, *cur_daddr, daddr,
				BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(daddr)) < 0)
		return -1;
	if (bpf_l3_csum_replace(skb, ip_check, *cur_daddr, daddr, sizeof(daddr)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ev->l3_off + offsetof(struct iphdr, daddr), &daddr, sizeof(daddr), 0) < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, udp_check, *cur_dport, dport, BPF_F_MARK_MANGLED_0 | sizeof(dport)) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ev->l4_off + offsetof(struct udphdr, dest), &dport, sizeof(dport), 0) < 0)
		return -1;
	*cur_daddr = daddr;
	*cur_dport = dport;
	return 0;
}

SEC("tc")
int tempos_fanout(struct __sk_buff *skb)
{
	struct tempos_skb_event ev;
	if (parse_skb_event(skb, mom_port, &ev) != TEMPOS_PARSE_OK)
		return TC_ACT_OK; /* the XDP router has counted why */

	__u32 topic = ev.topic;
	void *route = bpf_map_lookup_elem(&fanout_routes, &topic);
	if (!route)
		return TC_ACT_OK; /* not a fan-out topic */
	struct tempos_fanout_topic_counters *topic_counters = bpf_map_lookup_elem(&fanout_topic_counters, &topic);
	if (!topic_counters) /* cannot happen: topic < max_entries */
		return TC_ACT_OK;

	if (ev.ip.ttl <= 1) {
		topic_counters->passed_ttl++;
		return TC_ACT_OK;
	}
	if (skb->gso_segs > 1) {
		topic_counters->passed_gso++;
		return TC_ACT_OK;
	}
	__be32 new_saddr = mom_ipv4 ? mom_ipv4 : ev.ip.daddr;
	struct tempos_copy_hop hop;

	/* Pass 1: every group must be servable, else the socket path serves the whole event (each group once,
	 * and its send resolves the missing neighbour for the next events). Nothing is modified yet. */
	__u32 groups = 0;
	for (__u32 g = 0; g < TEMPOS_MAX_FANOUT_GROUPS; g++) {
		hop.counters = 0;
		int choice = choose_member(skb, route, topic, g, &ev, new_saddr, 0, &hop);
		if (choice == TEMPOS_NO_MORE_GROUPS)
			break;
		if (choice == TEMPOS_UNRESOLVED) {
			if (hop.counters)
				hop.counters->unresolved++;
			topic_counters->passed_unresolved++;
			return TC_ACT_OK;
		}
		if (choice != TEMPOS_CHOSEN) {
			topic_counters->aborted++;
			return TC_ACT_OK;
		}
		groups++;
	}
	if (groups == 0) {
		topic_counters->aborted++;
		return TC_ACT_OK;
	}

	/* Pass 2: rewrite toward each group's member and send a clone. bpf_clone_redirect makes the original's
	 * head private again after cloning, so the next rewrite never touches a copy already sent. */
	if (rewrite_common(skb, &ev, new_saddr) < 0) {
		topic_counters->aborted++;
		return TC_ACT_SHOT; /* half rewritten: it must not reach the MoM looking like an event */
	}
	__be32 cur_daddr = ev.ip.daddr;
	__be16 cur_dport = ev.udp.dest;
	for (__u32 g = 0; g < groups && g < TEMPOS_MAX_FANOUT_GROUPS; g++) {
		hop.counters = 0;
		if (choose_member(skb, route, topic, g, &ev, new_saddr, 1, &hop) != TEMPOS_CHOSEN || !hop.counters) {
			/* A neighbour vanished between the passes: only this group misses the event. */
			if (hop.counters)
				hop.counters->unresolved++;
			continue;
		}
		if (rewrite_toward(skb, &ev, &hop, &cur_daddr, &cur_dport) < 0 ||
		    bpf_clone_redirect(skb, hop.ifindex, 0) != 0) {
			hop.counters->clone_errors++;
			continue;
		}
		hop.counters->copies++;
		hop.counters->bytes += skb->len;
	}
	topic_counters->events++;
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
