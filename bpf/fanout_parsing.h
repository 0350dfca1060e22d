/* The router's parsing rules (bpf/parsing.h) for an skb: the same VLAN, IP option, fragment and length rules
 * and the same pass reasons, but every header is copied to the stack with bpf_skb_load_bytes at a computed
 * offset. No packet pointer is ever moved by a variable amount, which the verifier's Spectre v1 rules refuse
 * without CAP_PERFMON, and non-linear skbs need no pull. */
#ifndef TEMPOS_FANOUT_PARSING_H
#define TEMPOS_FANOUT_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "parsing.h"

struct tempos_skb_event {
	__u32 l3_off;     /* IPv4 header, from the start of the frame */
	__u32 l4_off;     /* UDP header */
	struct iphdr ip;  /* copies of the headers as received (the options are not copied) */
	struct udphdr udp;
	__u8 topic;
};

/* Returns TEMPOS_PARSE_OK or the tempos_pass_reason, exactly as parse_event() would for the same frame. */
static __always_inline int parse_skb_event(struct __sk_buff *skb, __be16 mom_port, struct tempos_skb_event *ev)
{
	struct ethhdr eth;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return TEMPOS_PASS_NOT_IPV4;
	__be16 proto = eth.h_proto;
	__u32 off = sizeof(eth);

	if (is_vlan_proto(proto)) {
		struct tempos_vlan_hdr vlan;
		if (bpf_skb_load_bytes(skb, off, &vlan, sizeof(vlan)) < 0)
			return TEMPOS_PASS_NOT_IPV4;
		proto = vlan.encapsulated_proto;
		off += sizeof(vlan);
		if (is_vlan_proto(proto)) {
			if (bpf_skb_load_bytes(skb, off, &vlan, sizeof(vlan)) < 0)
				return TEMPOS_PASS_NOT_IPV4;
			proto = vlan.encapsulated_proto;
			off += sizeof(vlan);
		}
	}
	if (proto != bpf_htons(ETH_P_IP))
		return TEMPOS_PASS_NOT_IPV4;

	if (bpf_skb_load_bytes(skb, off, &ev->ip, sizeof(ev->ip)) < 0)
		return TEMPOS_PASS_MALFORMED;
	if (ev->ip.version != 4 || ev->ip.ihl < 5)
		return TEMPOS_PASS_MALFORMED;
	__u32 ip_hdr_len = (__u32)ev->ip.ihl * 4;
	__u32 tot_len = bpf_ntohs(ev->ip.tot_len);
	if (tot_len < ip_hdr_len || off + tot_len > skb->len)
		return TEMPOS_PASS_MALFORMED;
	if (ev->ip.frag_off & bpf_htons(TEMPOS_IP_MF_AND_OFFSET))
		return TEMPOS_PASS_FRAGMENT;
	if (ev->ip.protocol != IPPROTO_UDP)
		return TEMPOS_PASS_NOT_OUR_PORT;

	__u32 l4 = off + ip_hdr_len;
	if (bpf_skb_load_bytes(skb, l4, &ev->udp, sizeof(ev->udp)) < 0)
		return TEMPOS_PASS_MALFORMED;
	if (ev->udp.dest != mom_port)
		return TEMPOS_PASS_NOT_OUR_PORT;
	__u32 udp_len = bpf_ntohs(ev->udp.len);
	if (udp_len != tot_len - ip_hdr_len || udp_len < sizeof(struct udphdr))
		return TEMPOS_PASS_MALFORMED;
	if (udp_len == sizeof(struct udphdr))
		return TEMPOS_PASS_NO_PAYLOAD;
	if (bpf_skb_load_bytes(skb, l4 + sizeof(struct udphdr), &ev->topic, 1) < 0)
		return TEMPOS_PASS_MALFORMED;

	ev->l3_off = off;
	ev->l4_off = l4;
	return TEMPOS_PARSE_OK;
}

#endif /* TEMPOS_FANOUT_PARSING_H */
