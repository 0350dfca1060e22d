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

/* 1 if `mac` (a MAC in its first 6 bytes, memory order, then 2 zero bytes) is in the set. */
static __always_inline int tempos_mac_in(const struct tempos_local_set *set, __u64 mac)
{
	__u32 macs = set->mac_count;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_MACS && i < macs; i++) {
		if (set->macs[i] == mac)
			return 1;
	}
	return 0;
}

/* The checks are global functions, not inlined (as count_verdict): each is verified once on its own, with unknown
 * arguments, and a call site sees only its 0 or 1. Inlined, every loop iteration's exit carried its own state into
 * the rest of the router, which then passed the verifier's 1M-instruction limit without CAP_PERFMON. Arguments are
 * scalars (the caller copies the bytes): no packet pointer crosses the call. One call per event, one lookup. */

/* 1 if `mac` is one of this MoM's and `daddr` (network order) an IPv4 address it listens on. */
__noinline int tempos_local_ipv4(__u64 mac, __be32 daddr)
{
	const struct tempos_local_set *set = tempos_local_set();
	if (!set || !tempos_mac_in(set, mac))
		return 0;
	__u32 addresses = set->ipv4_count;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_IPV4 && i < addresses; i++) {
		if (set->ipv4[i] == daddr)
			return 1;
	}
	return 0;
}

static __always_inline __u64 tempos_mac_word(const __u8 *dst_mac)
{
	__u64 mac = 0;
	__builtin_memcpy(&mac, dst_mac, ETH_ALEN);
	return mac;
}

/* 1 if (dst_mac, daddr) is this MoM's; dst_mac points at 6 readable bytes (packet or stack). */
static __always_inline int tempos_addressed_to_us(const __u8 *dst_mac, __be32 daddr)
{
	return tempos_local_ipv4(tempos_mac_word(dst_mac), daddr);
}

#ifdef TEMPOS_DESTINATION_IPV6
/* 1 if `mac` is one of this MoM's and the IPv6 address whose 16 bytes (network order) are the words `high`, `low`
 * one it listens on: the `listen` address, or with [::] the interface's (and its VLAN sub-interfaces') IPv6
 * addresses, link-local ones excepted (plugin/local_addresses.hpp). For the programs that define
 * TEMPOS_DESTINATION_IPV6 (both do). */
__noinline int tempos_local_ipv6(__u64 mac, __u64 high, __u64 low)
{
	const struct tempos_local_set *set = tempos_local_set();
	if (!set || !tempos_mac_in(set, mac))
		return 0;
	__u32 addresses = set->ipv6_count;
	for (__u32 i = 0; i < TEMPOS_MAX_LOCAL_IPV6 && i < addresses; i++) {
		const __u64 *have = (const __u64 *)set->ipv6[i].addr;
		if (have[0] == high && have[1] == low)
			return 1;
	}
	return 0;
}

/* The same as tempos_addressed_to_us for IPv6; daddr points at 16 readable bytes. */
static __always_inline int tempos_addressed_to_us6(const __u8 *dst_mac, const void *daddr)
{
	__u64 want[2];
	__builtin_memcpy(want, daddr, sizeof(want));
	return tempos_local_ipv6(tempos_mac_word(dst_mac), want[0], want[1]);
}
#endif

#endif /* TEMPOS_DESTINATION_H */
