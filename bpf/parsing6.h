/* IPv6 parsing for the topic router (docs/ipv6.md), whose rules the TC fan-out shares (fanout_parsing.h): behind the same Ethernet/VLAN parse as IPv4 (parsing.h), an
 * IPv6 header, optionally extension headers, and UDP to the MoM's port with at least one payload byte.
 *
 * Extension headers, decided here and tested by the fixtures:
 *  - skipped, at most TEMPOS_IPV6_SKIPPED_EXT_HEADERS of them: hop-by-hop options (0), destination options (60),
 *    and a routing header (43) with segments left 0 (the MoM is its final destination). Their options are not
 *    interpreted;
 *  - a fragment header (44) -> FRAGMENT, as an IPv4 fragment;
 *  - a routing header with segments left != 0, AH (51), ESP (50), mobility (135), HIP (139), shim6 (140), the
 *    experimental 253/254, or one skipped header more than the limit -> EXT_HEADER;
 *  - any other next header that is not UDP (TCP, ICMPv6, no next header...) -> NOT_OUR_PORT.
 * An extension header has a variable length and the Spectre v1 rules (no CAP_PERFMON) let a packet pointer move by
 * constants only: so headers behind one are read with bpf_xdp_load_bytes at a numeric offset, and such an event's
 * UDP header is written back with bpf_xdp_store_bytes (view->udp_by_offset; view->udp is not set for IPv6). Without extension headers the UDP
 * header is reached with a constant step, as in IPv4.
 * Lengths: 40 + payload length <= the bytes from the IPv6 header to the end of the frame (what follows is Ethernet
 * padding); the extension headers fit in the payload length; udp.len == payload length - extension headers and
 * >= 8, else MALFORMED; udp.len == 8 -> NO_PAYLOAD. A UDP checksum 0 is not allowed in IPv6 (RFC 8200) and the
 * stack drops such a datagram: MALFORMED, so the router never forwards one. */
#ifndef TEMPOS_PARSING6_H
#define TEMPOS_PARSING6_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "parsing.h"

#define TEMPOS_IPV6_SKIPPED_EXT_HEADERS 4

/* The first bytes of every extension header the router skips (for a routing header: its type, segments left). */
struct tempos_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-byte units, not counting the first 8 */
	__u8 routing_type;
	__u8 segments_left;
};

static __always_inline int ipv6_ext_skipped(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_DSTOPTS || next == IPPROTO_ROUTING;
}

/* Extension headers (RFC 7045's list) the router does not skip; the fragment header has its own reason. */
static __always_inline int ipv6_ext_passed(__u8 next)
{
	return next == IPPROTO_ESP || next == IPPROTO_AH || next == IPPROTO_MH || next == 139 /* HIP */ ||
	       next == 140 /* shim6 */ || next == 253 || next == 254;
}

/* The rules of one skipped extension header whose first bytes are `ext`: moves *next and *ext_len past it.
 * TEMPOS_PARSE_OK, or the reason to pass the frame. Shared with the TC fan-out (fanout_parsing.h), which reads the
 * bytes from an skb. */
static __always_inline int ipv6_ext_step(const struct tempos_ipv6_ext *ext, __u32 payload_len, __u8 *next,
					 __u32 *ext_len)
{
	if (*next == IPPROTO_ROUTING && ext->segments_left != 0)
		return TEMPOS_PASS_EXT_HEADER;
	*next = ext->nexthdr;
	*ext_len += ((__u32)ext->hdrlen + 1) * 8;
	if (*ext_len > payload_len)
		return TEMPOS_PASS_MALFORMED;
	return TEMPOS_PARSE_OK;
}

/* The next header once the skippable ones are behind: TEMPOS_PARSE_OK for UDP, else the reason to pass. */
static __always_inline int ipv6_last_header(__u8 next)
{
	if (ipv6_ext_skipped(next) || ipv6_ext_passed(next))
		return TEMPOS_PASS_EXT_HEADER;
	if (next == IPPROTO_FRAGMENT)
		return TEMPOS_PASS_FRAGMENT;
	if (next != IPPROTO_UDP)
		return TEMPOS_PASS_NOT_OUR_PORT;
	return TEMPOS_PARSE_OK;
}

/* The UDP header's rules (port, lengths, checksum 0); *udp_len is set. TEMPOS_PARSE_OK or the reason to pass. */
static __always_inline int ipv6_udp_rules(const struct udphdr *header, __be16 mom_port, __u32 payload_len,
					  __u32 ext_len, __u32 *udp_len)
{
	if (header->dest != mom_port)
		return TEMPOS_PASS_NOT_OUR_PORT;
	*udp_len = bpf_ntohs(header->len);
	if (*udp_len != payload_len - ext_len || *udp_len < sizeof(struct udphdr))
		return TEMPOS_PASS_MALFORMED;
	if (*udp_len == sizeof(struct udphdr))
		return TEMPOS_PASS_NO_PAYLOAD;
	if (header->check == 0)
		return TEMPOS_PASS_MALFORMED;
	return TEMPOS_PARSE_OK;
}

/* One skipped extension header at l3_off + 40 + *ext_len: moves *next and *ext_len past it. TEMPOS_PARSE_OK, or
 * the reason to pass the frame. */
static __always_inline int ipv6_skip_ext(struct xdp_md *ctx, __u32 l3_off, __u32 payload_len, __u8 *next,
					 __u32 *ext_len)
{
	struct tempos_ipv6_ext ext;
	if (bpf_xdp_load_bytes(ctx, l3_off + sizeof(struct ipv6hdr) + *ext_len, &ext, sizeof(ext)) < 0)
		return TEMPOS_PASS_MALFORMED;
	return ipv6_ext_step(&ext, payload_len, next, ext_len);
}

/* Returns TEMPOS_PARSE_OK or the tempos_pass_reason; fills view (ip is not set). */
static __always_inline int parse_ipv6_udp(struct xdp_md *ctx, __be16 mom_port, const struct tempos_l2 *l2,
					  struct tempos_event_view *view)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_offset = l2->l3_off;
	struct ipv6hdr *ip6 = l2->l3;
	if ((void *)(ip6 + 1) > data_end)
		return TEMPOS_PASS_MALFORMED;
	if (ip6->version != 6)
		return TEMPOS_PASS_MALFORMED;
	__u32 payload_len = bpf_ntohs(ip6->payload_len);
	__u32 frame_len = bpf_xdp_get_buff_len(ctx);
	if (payload_len > frame_len - l3_offset - sizeof(*ip6))
		return TEMPOS_PASS_MALFORMED;

	__u8 next = ip6->nexthdr;
	__u32 ext_len = 0;
	struct udphdr header;
	__u8 topic;
	if (next == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(ip6 + 1);
		if ((void *)(udp + 1) > data_end)
			return TEMPOS_PASS_MALFORMED;
		header = *udp;
	} else {
		int reason;
		/* Unrolled by hand, as the IPv4 options: a bounded number of steps. */
#pragma clang loop unroll(full)
		for (int i = 0; i < TEMPOS_IPV6_SKIPPED_EXT_HEADERS; i++) {
			if (!ipv6_ext_skipped(next))
				break;
			reason = ipv6_skip_ext(ctx, l3_offset, payload_len, &next, &ext_len);
			if (reason != TEMPOS_PARSE_OK)
				return reason;
		}
		reason = ipv6_last_header(next);
		if (reason != TEMPOS_PARSE_OK)
			return reason;
		if (bpf_xdp_load_bytes(ctx, l3_offset + sizeof(*ip6) + ext_len, &header, sizeof(header)) < 0)
			return TEMPOS_PASS_MALFORMED;
	}
	__u32 udp_len;
	int udp_reason = ipv6_udp_rules(&header, mom_port, payload_len, ext_len, &udp_len);
	if (udp_reason != TEMPOS_PARSE_OK)
		return udp_reason;
	__u32 l4_off = l3_offset + sizeof(*ip6) + ext_len;
	/* Without extension headers (ext_len 0) the UDP header follows the IPv6 header: pointers from ip6 by constant
	 * steps. No pointer is kept across the two paths: the verifier sees each alone. */
	if (ext_len == 0) {
		__u8 *payload = (void *)(ip6 + 1) + sizeof(struct udphdr);
		/* Implied by the length checks above; repeated because the verifier needs it in this form. */
		if ((void *)(payload + 1) > data_end)
			return TEMPOS_PASS_MALFORMED;
		topic = payload[0];
	} else if (bpf_xdp_load_bytes(ctx, l4_off + sizeof(header), &topic, 1) < 0) {
		return TEMPOS_PASS_MALFORMED;
	}

	view->eth = l2->eth;
	view->ip = 0;
	view->ip6 = ip6;
	view->payload = 0;
	view->ip_tot_len = sizeof(*ip6) + payload_len;
	view->udp_len = (__u16)udp_len;
	view->l4_off = l4_off;
	view->frame_len = frame_len;
	view->udp_source = header.source;
	view->udp_check = header.check;
	view->topic = topic;
	view->hop_limit = ip6->hop_limit;
	view->udp_by_offset = ext_len != 0;
	return TEMPOS_PARSE_OK;
}

/* An event of either family (parse_ipv4_udp, parse_ipv6_udp; view->ip or view->ip6 is set), for a program that
 * treats both alike (the best-effort cpumap's entry program); every other ethertype is TEMPOS_PASS_NOT_IPV4. The
 * router itself takes one path per family (router.bpf.c). */
static __always_inline int parse_event(struct xdp_md *ctx, __be16 mom_port, struct tempos_event_view *view)
{
	struct tempos_l2 l2;
	int reason = parse_l2(ctx, &l2);
	if (reason != TEMPOS_PARSE_OK)
		return reason;
	if (l2.proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6_udp(ctx, mom_port, &l2, view);
	if (l2.proto != bpf_htons(ETH_P_IP))
		return TEMPOS_PASS_NOT_IPV4;
	return parse_ipv4_udp(ctx, mom_port, &l2, view);
}

#endif /* TEMPOS_PARSING6_H */
