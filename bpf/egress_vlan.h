/* Egress tagging of the XDP router (docs/config.md#vlan): a routed frame leaves with the tagging of its egress
 * interface, never with the tags it arrived with. egress_vlans says which egress interfaces are VLAN
 * sub-interfaces (the adapter fills it, plugin/xdp_adapter.cpp egress_for): their frames carry that one tag and
 * are handed to the lower device. Every other egress, the interface the frame arrived on included, is untagged
 * (a VLAN device the router is attached to itself, in generic mode, tags on transmit: the program sees its frames
 * untagged). */
#ifndef TEMPOS_EGRESS_VLAN_H
#define TEMPOS_EGRESS_VLAN_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "parsing.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TEMPOS_MAX_EGRESS_VLANS);
	__type(key, __u32); /* the VLAN sub-interface's ifindex */
	__type(value, struct tempos_egress_vlan);
} egress_vlans SEC(".maps");

/* Gives the (already rewritten) frame exactly the egress tagging: no tag when tpid is 0, else one tag (tpid,
 * tci). The frame holds 0, 1 or 2 tags as parse_l2() accepted them; the MACs are kept, the IPv4 header and
 * everything after it is not touched, so no checksum changes. Moves the head with bpf_xdp_adjust_head, which
 * invalidates every packet pointer of the caller. Returns 0, or -1 if the head could not be moved (no headroom:
 * drivers with XDP support give 256 bytes, so this does not happen in practice). */
static __always_inline int tempos_set_egress_tag(struct xdp_md *ctx, __be16 tpid, __be16 tci)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct tempos_vlan_hdr *vlan = (void *)(eth + 1);
	if ((void *)(vlan + 1) > data_end) /* an accepted event is longer: Ethernet, IPv4, UDP, a topic */
		return -1;
	int tags = 0;
	if (is_vlan_proto(eth->h_proto))
		tags = is_vlan_proto(vlan->encapsulated_proto) ? 2 : 1;
	int want = tpid ? 1 : 0;
	if (tags == want) {
		if (want) {
			eth->h_proto = tpid;
			vlan->tci = tci;
		}
		return 0;
	}
	/* One tag more (-4) or one or two fewer (+4, +8): the bytes after the tags stay where they are in memory, so
	 * the ethertype behind the new tagging is already the frame's ETH_P_IP; only the MACs and the new tag are
	 * written at the new head. */
	__u8 macs[2 * ETH_ALEN];
	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, (tags - want) * (int)sizeof(struct tempos_vlan_hdr)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	vlan = (void *)(eth + 1);
	if ((void *)(vlan + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, macs, sizeof(macs));
	if (want) {
		eth->h_proto = tpid;
		vlan->tci = tci;
	}
	return 0;
}

#endif /* TEMPOS_EGRESS_VLAN_H */
