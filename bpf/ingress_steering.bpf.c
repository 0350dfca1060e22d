// SPDX-License-Identifier: GPL-2.0
/* The MoM's ingress steering: tempos-mom binds two UDP sockets to its port with SO_REUSEPORT, one read by the
 * strict (SCHED_FIFO) receiver thread, one by the best-effort thread. For every datagram to that port the kernel
 * runs this program to choose the socket: the topic byte (the first payload byte) of a strict topic selects the
 * strict socket, anything else (best-effort, unknown topic, empty datagram) the best-effort one. So a best-effort
 * flood fills only the best-effort socket's receive buffer; strict events never queue behind it.
 * tempos-mom keeps tempos_topic_class in step with its topics (start and every reload). */
#include <linux/bpf.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} tempos_ingress_sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TEMPOS_MAX_TOPICS);
	__type(key, __u32);
	__type(value, __u32);
} tempos_topic_class SEC(".maps");

SEC("sk_reuseport")
int tempos_ingress_steer(struct sk_reuseport_md *md)
{
	__u32 socket = TEMPOS_INGRESS_SOCKET_BEST_EFFORT;
	__u8 topic;

	/* Offsets are relative to the UDP header here; load_bytes also reads a payload outside the linear part. */
	if (bpf_skb_load_bytes(md, sizeof(struct udphdr), &topic, sizeof(topic)) == 0) {
		__u32 key = topic;
		__u32 *class = bpf_map_lookup_elem(&tempos_topic_class, &key);

		if (class && *class == TEMPOS_INGRESS_CLASS_STRICT)
			socket = TEMPOS_INGRESS_SOCKET_STRICT;
	}
	/* Should the strict socket be missing, the best-effort one still takes the event (it is classified again
	 * in user space); should both be, the kernel's own reuseport choice applies. */
	if (bpf_sk_select_reuseport(md, &tempos_ingress_sockets, &socket, 0) != 0 &&
	    socket == TEMPOS_INGRESS_SOCKET_STRICT) {
		socket = TEMPOS_INGRESS_SOCKET_BEST_EFFORT;
		bpf_sk_select_reuseport(md, &tempos_ingress_sockets, &socket, 0);
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
