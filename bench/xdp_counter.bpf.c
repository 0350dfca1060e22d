// SPDX-License-Identifier: GPL-2.0
/* The receiving end of `tempos-bench throughput`, attached to the subscriber's veth: counts the UDP datagrams
 * to `count_port` in a per-CPU counter and drops them (no socket cost in the measurement); everything else
 * (ARP above all, which the MoM's socket path needs) goes up the stack. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u16 count_port = 0; /* network byte order */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} received SEC(".maps");

SEC("xdp")
int xdp_counter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)ip + sizeof(*ip);
	__u32 key = 0;
	__u64 *count;

	if ((void *)(udp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP ||
	    ip->ihl != 5 || udp->dest != count_port)
		return XDP_PASS;
	count = bpf_map_lookup_elem(&received, &key);
	if (count)
		*count += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
