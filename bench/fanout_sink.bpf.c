// SPDX-License-Identifier: GPL-2.0
/* The receiving end of `tempos-bench fanout` at the subscriber's veth, at TC ingress instead of XDP: with an XDP
 * program (or GRO) on it, a veth queues what it receives in a 256-entry ring that one receive poll of the MoM (64
 * events) overflows once an event has 4 copies. Without them, received frames go to a CPU's backlog (1000 deep),
 * and RPS can send them to another CPU than the MoM's. Counts the UDP datagrams to `count_port` per CPU and drops
 * them; everything else goes up the stack. */
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

SEC("tc")
int fanout_sink(struct __sk_buff *skb)
{
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr udp;
	} __attribute__((packed)) h;
	__u32 key = 0;
	__u64 *count;

	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)) < 0 || h.eth.h_proto != bpf_htons(ETH_P_IP) ||
	    h.ip.protocol != IPPROTO_UDP || h.ip.ihl != 5 || h.udp.dest != count_port)
		return TC_ACT_OK;
	count = bpf_map_lookup_elem(&received, &key);
	if (count)
		*count += 1;
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
