/* Whether a frame is addressed to this MoM: the router and the fan-out program serve a frame only if its
 * destination MAC is one of the interface's and its destination address one the MoM listens on (local_destinations,
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

/* The version of the lists the adapter made current, or 0. */
static __always_inline const struct tempos_local_set *tempos_local_set(void)
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
	return set;
}

/* 1 if dst_mac (6 readable bytes, packet or stack) is one of the set's MACs. */
static __always_inline int tempos_local_mac(const struct tempos_local_set *set, const __u8 *dst_mac)
{
	__u64 mac = 0;
	__builtin_memcpy(&mac, dst_mac, ETH_ALEN);
	__u32 macs = set->mac_count;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_MACS && i < macs; i++) {
		if (set->macs[i] == mac)
			return 1;
	}
	return 0;
}

/* 1 if (dst_mac, daddr) is this MoM's. */
static __always_inline int tempos_addressed_to_us(const __u8 *dst_mac, __be32 daddr)
{
	const struct tempos_local_set *set = tempos_local_set();
	if (!set || !tempos_local_mac(set, dst_mac))
		return 0;
	__u32 addresses = set->ipv4_count;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_IPV4 && i < addresses; i++) {
		if (set->ipv4[i] == daddr)
			return 1;
	}
	return 0;
}

/* The same for IPv6 (the router only: the fan-out program serves IPv4); daddr points at 16 readable bytes. The
 * adapter lists the `listen` address, or with [::] the interface's (and its VLAN sub-interfaces') IPv6 addresses,
 * link-local ones excepted (plugin/local_addresses.hpp). */
static __always_inline int tempos_addressed_to_us6(const __u8 *dst_mac, const void *daddr)
{
	const struct tempos_local_set *set = tempos_local_set();
	if (!set || !tempos_local_mac(set, dst_mac))
		return 0;
	__u64 want[2];
	__builtin_memcpy(want, daddr, sizeof(want));
	__u32 addresses = set->ipv6_count;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_IPV6 && i < addresses; i++) {
		const __u64 *have = (const __u64 *)set->ipv6[i].addr;
		if (have[0] == want[0] && have[1] == want[1])
			return 1;
	}
	return 0;
}

#endif /* TEMPOS_DESTINATION_H */
