/* The router's parsing rules (bpf/parsing.h, bpf/parsing6.h) for an skb: the same VLAN, IP option, fragment,
 * IPv6 extension header and length rules and the same pass reasons, but every header is copied to the stack with bpf_skb_load_bytes at a computed
 * offset. No packet pointer is ever moved by a variable amount, which the verifier's Spectre v1 rules refuse
 * without CAP_PERFMON, and non-linear skbs need no pull. */
#ifndef TEMPOS_FANOUT_PARSING_H
#define TEMPOS_FANOUT_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "parsing.h"
#include "parsing6.h"

struct tempos_skb_event {
	__u32 l3_off;       /* IPv4 or IPv6 header, from the start of the frame */
	__u32 l4_off;       /* UDP header (IPv6: behind the extension headers) */
	struct iphdr ip;    /* IPv4: copies of the headers as received (the options are not copied) */
	struct ipv6hdr ip6; /* IPv6 (ipv6 set): the fixed header as received */
	struct udphdr udp;
	__u16 ip_len;       /* the IP datagram's bytes: IPv4 tot_len, IPv6 40 + payload length */
	__u8 topic;
	__u8 hop_limit;     /* IPv4 TTL, IPv6 hop limit */
	__u8 ipv6;          /* 0: IPv4 (ip), 1: IPv6 (ip6) */
};

/* IPv6 at `off` (parse_ipv6_udp's rules, parsing6.h); TEMPOS_PARSE_OK or the tempos_pass_reason. */
static __always_inline int parse_skb_ipv6(struct __sk_buff *skb, __u32 off, __be16 mom_port,
					  struct tempos_skb_event *ev)
{
	if (bpf_skb_load_bytes(skb, off, &ev->ip6, sizeof(ev->ip6)) < 0)
		return TEMPOS_PASS_MALFORMED;
	if (ev->ip6.version != 6)
		return TEMPOS_PASS_MALFORMED;
	__u32 payload_len = bpf_ntohs(ev->ip6.payload_len);
	if (payload_len > skb->len - off - sizeof(ev->ip6))
		return TEMPOS_PASS_MALFORMED;
	__u8 next = ev->ip6.nexthdr;
	__u32 ext_len = 0;
	int reason;
#pragma clang loop unroll(full)
	for (int i = 0; i < TEMPOS_IPV6_SKIPPED_EXT_HEADERS; i++) {
		if (!ipv6_ext_skipped(next))
			break;
		struct tempos_ipv6_ext ext;
		if (bpf_skb_load_bytes(skb, off + sizeof(ev->ip6) + ext_len, &ext, sizeof(ext)) < 0)
			return TEMPOS_PASS_MALFORMED;
		reason = ipv6_ext_step(&ext, payload_len, &next, &ext_len);
		if (reason != TEMPOS_PARSE_OK)
			return reason;
	}
	reason = ipv6_last_header(next);
	if (reason != TEMPOS_PARSE_OK)
		return reason;
	__u32 l4 = off + sizeof(ev->ip6) + ext_len;
	if (bpf_skb_load_bytes(skb, l4, &ev->udp, sizeof(ev->udp)) < 0)
		return TEMPOS_PASS_MALFORMED;
	__u32 udp_len;
	reason = ipv6_udp_rules(&ev->udp, mom_port, payload_len, ext_len, &udp_len);
	if (reason != TEMPOS_PARSE_OK)
		return reason;
	if (bpf_skb_load_bytes(skb, l4 + sizeof(struct udphdr), &ev->topic, 1) < 0)
		return TEMPOS_PASS_MALFORMED;
	ev->l3_off = off;
	ev->l4_off = l4;
	ev->ip_len = (__u16)(sizeof(ev->ip6) + payload_len);
	ev->hop_limit = ev->ip6.hop_limit;
	ev->ipv6 = 1;
	return TEMPOS_PARSE_OK;
}

/* Returns TEMPOS_PARSE_OK or the tempos_pass_reason, exactly as the router's parse would for the same frame
 * (parse_l2(), then parse_ipv4_udp() or parse_ipv6_udp()). */
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
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_skb_ipv6(skb, off, mom_port, ev);
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
	ev->ip_len = (__u16)tot_len;
	ev->hop_limit = ev->ip.ttl;
	ev->ipv6 = 0;
	return TEMPOS_PARSE_OK;
}

#endif /* TEMPOS_FANOUT_PARSING_H */
