/* Whether a frame is addressed to this MoM: the router and the fan-out program serve a frame only if its
 * destination MAC is one of the interface's and its destination IPv4 one the MoM listens on (local_destinations,
 * include/tempos/xdp_abi.h). Without this check they would rewrite and consume another host's traffic seen on a
 * bridge, mirror or promiscuous port, broadcasts to our port, and datagrams to another local address. The adapter
 * fills the map (plugin/local_addresses.hpp) and keeps it current; empty lists take nothing.
 * The router owns the map; the fan-out program is given the router's (bpf_map__reuse_fd), so there is one copy. */
#ifndef TEMPOS_DESTINATION_H
#define TEMPOS_DESTINATION_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "parsing.h"

/* An ARRAY of one entry: the verifier inlines its lookup, no helper call and no hashing per event. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tempos_local_destinations);
} local_destinations SEC(".maps");

/* 1 if (dst_mac, daddr) is this MoM's; dst_mac points at 6 readable bytes (packet or stack). */
static __always_inline int tempos_addressed_to_us(const __u8 *dst_mac, __be32 daddr)
{
	__u32 zero = 0;
	const struct tempos_local_destinations *local = bpf_map_lookup_elem(&local_destinations, &zero);
	if (!local)
		return 0;
	/* Two constant offsets, not one computed from `current`: a variable offset into the value is refused
	 * without CAP_PERFMON on some paths (see count_verdict in router.bpf.c). */
	const struct tempos_local_set *set;
	if (local->current & 1) {
		set = &local->versions[1];
		tempos_opaque(set);
	} else {
		set = &local->versions[0];
		tempos_opaque(set);
	}
	__u64 mac = 0;
	__builtin_memcpy(&mac, dst_mac, ETH_ALEN);
	__u32 macs = set->mac_count;
	int mac_found = 0;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_MACS && i < macs; i++) {
		if (set->macs[i] == mac) {
			mac_found = 1;
			break;
		}
	}
	if (!mac_found)
		return 0;
	__u32 addresses = set->ipv4_count;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_IPV4 && i < addresses; i++) {
		if (set->ipv4[i] == daddr)
			return 1;
	}
	return 0;
}

#endif /* TEMPOS_DESTINATION_H */
