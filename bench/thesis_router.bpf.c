// SPDX-License-Identifier: GPL-2.0
/* YARDSTICK ONLY, never used in production: a faithful re-implementation of the thesis's XDP program
 * (Listings 4.4 and 4.11-4.16), kept with its flaws so that tempos-bench compares our router against it:
 *  - HASH map keyed by one byte, value = 5 IPv4 addresses then 5 MACs, unused slots zero-padded;
 *  - a global, non-atomic 256-entry index array shared by all CPUs (a data race);
 *  - IP options not handled (the UDP header is assumed right after 20 bytes of IP), no TTL handling;
 *  - ip.id += 1, IP checksum recomputed over the 20-byte header; the UDP checksum is left stale;
 *  - bpf_redirect to a fixed interface index (here a const volatile set before load). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ADDRESSES_PER_TOPIC 5
#define THESIS_PORT 9998

struct thesis_topic_value {
	__u32 ips[ADDRESSES_PER_TOPIC];
	__u8 macs[ADDRESSES_PER_TOPIC][ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u8);
	__type(value, struct thesis_topic_value);
} thesis_topics SEC(".maps");

const volatile __u32 redirect_ifindex = 1;

/* The thesis's "FIFO" cursor: one per topic, global, not atomic. */
__u32 topic_index[256];

static __always_inline __u16 ip_checksum20(struct iphdr *ip)
{
	__u16 *words = (__u16 *)ip;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += words[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int thesis_router(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (ip->frag_off & bpf_htons(0x3fff))
		return XDP_PASS;
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (udp->dest != bpf_htons(THESIS_PORT))
		return XDP_PASS;
	__u8 *payload = (void *)(udp + 1);
	if ((void *)(payload + 1) > data_end)
		return XDP_PASS;

	__u8 topic = payload[0];
	struct thesis_topic_value *value = bpf_map_lookup_elem(&thesis_topics, &topic);
	if (!value)
		return XDP_PASS;

	__u32 i = topic_index[topic];
	if (i >= ADDRESSES_PER_TOPIC || value->ips[i] == 0)
		i = 0;

	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, value->macs[i], ETH_ALEN);
	ip->saddr = ip->daddr;
	ip->daddr = value->ips[i];
	ip->id = bpf_htons(bpf_ntohs(ip->id) + 1);
	ip->check = 0;
	ip->check = ip_checksum20(ip);
	topic_index[topic] = i + 1;

	return bpf_redirect(redirect_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
