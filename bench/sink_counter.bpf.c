// SPDX-License-Identifier: GPL-2.0
/* The receiving end of `tempos-bench throughput` and `fanout` at the subscriber's veth: counts the UDP datagrams
 * (IPv4 or IPv6) to `count_port` in a per-CPU counter and drops them (no socket cost in the measurement); everything else (ARP
 * above all, which the MoM's socket path needs) goes up the stack. Two hooks, one rule:
 * - xdp_counter (XDP): throughput;
 * - tc_counter (TC ingress): fanout. With an XDP program (or GRO) on it, a veth queues what it receives in a
 *   256-entry ring that one receive poll of the MoM (64 events) overflows once an event has 4 copies; without
 *   them, received frames go to a CPU's backlog (1000 deep). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
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

/* An IPv4 datagram without options, or an IPv6 one without extension headers (what the bench sends). */
union sink_headers {
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr udp;
	} __attribute__((packed)) v4;
	struct {
		struct ethhdr eth;
		struct ipv6hdr ip;
		struct udphdr udp;
	} __attribute__((packed)) v6;
};

static __always_inline int count(void)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&received, &key);

	if (count)
		*count += 1;
	return 1;
}

/* Counts the frame if it is a datagram to count_port (then the caller drops it); v6: its IPv6 headers are there. */
static __always_inline int count_if_ours(const union sink_headers *h, int v6)
{
	if (h->v4.eth.h_proto == bpf_htons(ETH_P_IP))
		return h->v4.ip.protocol == IPPROTO_UDP && h->v4.ip.ihl == 5 && h->v4.udp.dest == count_port && count();
	return v6 && h->v6.eth.h_proto == bpf_htons(ETH_P_IPV6) && h->v6.ip.nexthdr == IPPROTO_UDP &&
	       h->v6.udp.dest == count_port && count();
}

SEC("xdp")
int xdp_counter(struct xdp_md *ctx)
{
	const union sink_headers *h = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if ((void *)(&h->v4 + 1) > end)
		return XDP_PASS;
	if ((void *)(&h->v6 + 1) > end)
		return count_if_ours(h, 0) ? XDP_DROP : XDP_PASS;
	return count_if_ours(h, 1) ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_counter(struct __sk_buff *skb)
{
	union sink_headers h;

	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h.v4)) < 0)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h.v6)) < 0)
		return count_if_ours(&h, 0) ? TC_ACT_SHOT : TC_ACT_OK;
	return count_if_ours(&h, 1) ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
