/* Header parsing for the topic router: Ethernet with 0, 1 or 2 VLAN tags (802.1Q / 802.1ad), IPv4 (options
 * skipped), UDP to the MoM's port with at least one payload byte. IPv6: parsing6.h, on the same L2 parse. Every access is bounds-checked against
 * data_end before it happens; nothing here writes to the frame.
 *
 * Written to load with CAP_BPF alone (no CAP_PERFMON). Without CAP_PERFMON the verifier applies its Spectre v1
 * rules: a packet pointer may only move by constants (no `ip + ihl * 4`, no `ip + tot_len`) and two packet
 * pointers may not be subtracted. Hence the options are skipped in constant steps and lengths are compared as
 * plain numbers against the frame length from bpf_xdp_get_buff_len(). */
#ifndef TEMPOS_PARSING_H
#define TEMPOS_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"

#define TEMPOS_ETH_P_8021Q 0x8100
#define TEMPOS_ETH_P_8021AD 0x88a8
#define TEMPOS_IP_MF_AND_OFFSET 0x3fff /* MF flag and the 13-bit fragment offset */
#define TEMPOS_PARSE_OK (-1)

/* Hides a value from clang's optimiser so it cannot fold per-path constants back into one variable offset. */
#define tempos_opaque(x) asm volatile("" : "+r"(x))

/* Moves `ptr` past option word `n` (0-based) if the header has it: a constant step, never ptr + ihl * 4. */
#define TEMPOS_SKIP_OPTION_WORD(ptr, option_words, n)                                                              \
	do {                                                                                                       \
		if ((option_words) > (n)) {                                                                        \
			(ptr) = (void *)(ptr) + 4;                                                                 \
			tempos_opaque(ptr);                                                                        \
		}                                                                                                  \
	} while (0)

/* The VLAN tag as it follows the outer ethertype (not part of the uapi headers). */
struct tempos_vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* An accepted event. The family decides which of ip / ip6 is set: the router takes one path per family
 * (router.bpf.c), so no code reads the other one. */
struct tempos_event_view {
	struct ethhdr *eth;
	struct iphdr *ip;      /* IPv4 */
	struct ipv6hdr *ip6;   /* IPv6 (parsing6.h) */
	struct udphdr *udp;    /* IPv4: in the frame (IPv6: not set, see udp_by_offset) */
	__u8 *payload;         /* IPv4: payload[0] is the topic; at least one byte is inside the frame */
	__u32 ip_tot_len;      /* the IP datagram: IPv4 tot_len, IPv6 40 + payload length */
	__u16 udp_len;         /* the UDP header's length: header and payload */
	__u32 l4_off;          /* offset of the UDP header from the start of the frame (a number, not a pointer) */
	__u32 frame_len;       /* bytes in the whole frame, as bpf_xdp_get_buff_len() reports them */
	__be16 udp_source;     /* the UDP header's fields as received */
	__be16 udp_check;
	__u8 topic;            /* the first payload byte */
	__u8 hop_limit;        /* IPv4 TTL, IPv6 hop limit */
	/* IPv6: 0, the UDP header follows the IPv6 header (ip6 + 1); 1, behind extension headers, it is read and written
	 * at l4_off. A number, not a nullable pointer: without CAP_PERFMON the verifier refuses comparing packet
	 * pointers with 0. */
	__u16 udp_by_offset;
};

/* Where the L3 header starts, after 0, 1 or 2 VLAN tags. */
struct tempos_l2 {
	struct ethhdr *eth;
	void *l3;
	__be16 proto;  /* the ethertype behind the tags */
	__u32 l3_off;
};

static __always_inline int is_vlan_proto(__be16 proto)
{
	return proto == bpf_htons(TEMPOS_ETH_P_8021Q) || proto == bpf_htons(TEMPOS_ETH_P_8021AD);
}

/* Ethernet and up to two VLAN tags; TEMPOS_PARSE_OK or TEMPOS_PASS_NOT_IPV4 (truncated). */
static __always_inline int parse_l2(struct xdp_md *ctx, struct tempos_l2 *l2)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 l3_offset = sizeof(*eth);
	if ((void *)(eth + 1) > data_end)
		return TEMPOS_PASS_NOT_IPV4;
	__be16 proto = eth->h_proto;
	void *cursor = eth + 1;

	/* Two explicit steps (not a loop) keep the verifier's work and the code path trivial. */
	if (is_vlan_proto(proto)) {
		struct tempos_vlan_hdr *vlan = cursor;
		if ((void *)(vlan + 1) > data_end)
			return TEMPOS_PASS_NOT_IPV4;
		proto = vlan->encapsulated_proto;
		cursor = vlan + 1;
		l3_offset += sizeof(*vlan);
		if (is_vlan_proto(proto)) {
			vlan = cursor;
			if ((void *)(vlan + 1) > data_end)
				return TEMPOS_PASS_NOT_IPV4;
			proto = vlan->encapsulated_proto;
			cursor = vlan + 1;
			l3_offset += sizeof(*vlan);
		}
	}
	l2->eth = eth;
	l2->l3 = cursor;
	l2->proto = proto;
	l2->l3_off = l3_offset;
	return TEMPOS_PARSE_OK;
}

/* Length rules, decided here and tested by the fixtures:
 *  - ihl >= 5 and version 4, else MALFORMED;
 *  - ihl*4 <= tot_len <= bytes from the IP header to the end of the frame; bytes after tot_len are Ethernet
 *    padding (frames under 60 bytes are padded on the wire) and are accepted and left as they are;
 *  - MF set or fragment offset != 0 -> FRAGMENT (checked before the protocol: a non-first fragment has no
 *    UDP header to look at);
 *  - not UDP, or UDP to another destination port -> NOT_OUR_PORT;
 *  - udp.len must equal tot_len - ihl*4 (so it can be neither larger nor smaller than the datagram) and be
 *    >= 8, else MALFORMED; udp.len == 8 (no topic byte) -> NO_PAYLOAD.
 * Returns TEMPOS_PARSE_OK or the tempos_pass_reason. */
static __always_inline int parse_ipv4_udp(struct xdp_md *ctx, __be16 mom_port, const struct tempos_l2 *l2,
					  struct tempos_event_view *view)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l3_offset = l2->l3_off;
	struct iphdr *ip = l2->l3;
	if ((void *)(ip + 1) > data_end)
		return TEMPOS_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return TEMPOS_PASS_MALFORMED;
	__u32 ip_hdr_len = (__u32)ip->ihl * 4;
	__u32 tot_len = bpf_ntohs(ip->tot_len);
	__u32 frame_len = bpf_xdp_get_buff_len(ctx);
	if (tot_len < ip_hdr_len || tot_len > frame_len - l3_offset)
		return TEMPOS_PASS_MALFORMED;
	if (ip->frag_off & bpf_htons(TEMPOS_IP_MF_AND_OFFSET))
		return TEMPOS_PASS_FRAGMENT;
	if (ip->protocol != IPPROTO_UDP)
		return TEMPOS_PASS_NOT_OUR_PORT;

	struct udphdr *udp = (void *)(ip + 1);
	__u32 option_words = ip->ihl - 5;
	/* Unrolled by hand: clang rewrites a loop here into one the verifier cannot bound. Once a step is not
	 * taken, the verifier knows the later ones are not either, so there are 11 paths, not 2^10. */
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 0);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 1);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 2);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 3);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 4);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 5);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 6);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 7);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 8);
	TEMPOS_SKIP_OPTION_WORD(udp, option_words, 9);
	if ((void *)(udp + 1) > data_end)
		return TEMPOS_PASS_MALFORMED;
	if (udp->dest != mom_port)
		return TEMPOS_PASS_NOT_OUR_PORT;
	__u32 udp_len = bpf_ntohs(udp->len);
	if (udp_len != tot_len - ip_hdr_len || udp_len < sizeof(struct udphdr))
		return TEMPOS_PASS_MALFORMED;
	if (udp_len == sizeof(struct udphdr))
		return TEMPOS_PASS_NO_PAYLOAD;
	__u8 *payload = (void *)(udp + 1);
	/* Implied by the length checks above; repeated because the verifier needs it in this form. */
	if ((void *)(payload + 1) > data_end)
		return TEMPOS_PASS_MALFORMED;

	view->eth = l2->eth;
	view->ip = ip;
	view->ip6 = 0;
	view->udp = udp;
	view->payload = payload;
	view->ip_tot_len = (__u16)tot_len;
	view->udp_len = (__u16)udp_len;
	view->l4_off = l3_offset + ip_hdr_len;
	view->frame_len = frame_len;
	view->udp_source = udp->source;
	view->udp_check = udp->check;
	view->topic = payload[0];
	view->hop_limit = ip->ttl;
	view->udp_by_offset = 0;
	return TEMPOS_PARSE_OK;
}

#endif /* TEMPOS_PARSING_H */
