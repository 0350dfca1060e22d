// SPDX-License-Identifier: GPL-2.0
/* The receiving end of `tempos-bench throughput` and `fanout` at the subscriber's veth: counts the UDP datagrams
 * to `count_port` in a per-CPU counter and drops them (no socket cost in the measurement); everything else (ARP
 * above all, which the MoM's socket path needs) goes up the stack. Two hooks, one rule:
 * - xdp_counter (XDP): throughput;
 * - tc_counter (TC ingress): fanout. With an XDP program (or GRO) on it, a veth queues what it receives in a
 *   256-entry ring that one receive poll of the MoM (64 events) overflows once an event has 4 copies; without
 *   them, received frames go to a CPU's backlog (1000 deep). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
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

struct sink_headers {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
} __attribute__((packed));

/* Counts the frame if it is a datagram to count_port (then the caller drops it). */
static __always_inline int count_if_ours(const struct sink_headers *h)
{
	__u32 key = 0;
	__u64 *count;

	if (h->eth.h_proto != bpf_htons(ETH_P_IP) || h->ip.protocol != IPPROTO_UDP || h->ip.ihl != 5 ||
	    h->udp.dest != count_port)
		return 0;
	count = bpf_map_lookup_elem(&received, &key);
	if (count)
		*count += 1;
	return 1;
}

SEC("xdp")
int xdp_counter(struct xdp_md *ctx)
{
	const struct sink_headers *h = (void *)(long)ctx->data;

	if ((void *)(h + 1) > (void *)(long)ctx->data_end)
		return XDP_PASS;
	return count_if_ours(h) ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_counter(struct __sk_buff *skb)
{
	struct sink_headers h;

	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) < 0)
		return TC_ACT_OK;
	return count_if_ours(&h) ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
