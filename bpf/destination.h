/* Whether a frame is addressed to this MoM: the router and the fan-out program serve a frame only if its
 * destination MAC is one of the interface's (local_macs) and its destination IPv4 one the MoM listens on
 * (local_ipv4). Without this check they would rewrite and consume another host's traffic seen on a bridge,
 * mirror or promiscuous port, broadcasts to our port, and datagrams to another local address. The adapter fills
 * both maps (plugin/local_addresses.hpp) and keeps them current; empty maps take nothing.
 * The router owns the maps; the fan-out program is given the router's (bpf_map__reuse_fd), so there is one copy. */
#ifndef TEMPOS_DESTINATION_H
#define TEMPOS_DESTINATION_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TEMPOS_MAX_LOCAL_MACS);
	__type(key, struct tempos_mac_key);
	__type(value, __u8);
} local_macs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TEMPOS_MAX_LOCAL_IPV4);
	__type(key, __be32); /* network order */
	__type(value, __u8);
} local_ipv4 SEC(".maps");

/* 1 if (dst_mac, daddr) is this MoM's; dst_mac points at 6 readable bytes (packet or stack). */
static __always_inline int tempos_addressed_to_us(const __u8 *dst_mac, __be32 daddr)
{
	struct tempos_mac_key mac = {};
	__builtin_memcpy(mac.addr, dst_mac, ETH_ALEN);
	if (!bpf_map_lookup_elem(&local_macs, &mac))
		return 0;
	return bpf_map_lookup_elem(&local_ipv4, &daddr) != 0;
}

#endif /* TEMPOS_DESTINATION_H */
