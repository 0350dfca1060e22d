/* The router's destination check for IPv6 (destination.h for the rule): the frame's destination MAC in local_macs
 * and its destination IPv6 in local_ipv6, which the adapter keeps equal to the `listen` address, or with [::] to
 * the interface's (and its VLAN sub-interfaces') IPv6 addresses, link-local ones excepted
 * (plugin/local_addresses.hpp). Only the router has this map: the fan-out program serves IPv4 only. */
#ifndef TEMPOS_DESTINATION6_H
#define TEMPOS_DESTINATION6_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "destination.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TEMPOS_MAX_LOCAL_IPV6);
	__type(key, struct tempos_ipv6_key);
	__type(value, __u8);
} local_ipv6 SEC(".maps");

/* 1 if (dst_mac, daddr) is this MoM's; both point at readable bytes (packet or stack). */
static __always_inline int tempos_addressed_to_us6(const __u8 *dst_mac, const void *daddr)
{
	struct tempos_mac_key mac = {};
	__builtin_memcpy(mac.addr, dst_mac, ETH_ALEN);
	if (!bpf_map_lookup_elem(&local_macs, &mac))
		return 0;
	struct tempos_ipv6_key ip;
	__builtin_memcpy(ip.addr, daddr, sizeof(ip.addr));
	return bpf_map_lookup_elem(&local_ipv6, &ip) != 0;
}

#endif /* TEMPOS_DESTINATION6_H */
