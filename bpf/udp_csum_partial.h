/* UDP checksums of CHECKSUM_PARTIAL datagrams in the XDP router.
 *
 * A sender whose device offloads the transmit checksum (a veth, by default) leaves in the UDP checksum field only
 * the folded pseudo-header sum of the datagram's own addresses and length (not complemented); the skb carries the
 * mark CHECKSUM_PARTIAL and whoever transmits it completes the sum over the datagram. The router cannot see that
 * mark, so it recognises the form itself: field == the folded pseudo-header sum of the frame's addresses and UDP
 * length. (A complete checksum equals that value for 1 datagram in 65536; in native mode the router then writes
 * the complete checksum, which is right anyway; in generic mode see docs/known-issues.md.)
 * What the rewritten frame must carry depends on the mode:
 *  - native: the frame leaves as a plain buffer, the partial mark is gone, nobody completes the sum: the router
 *    writes the complete checksum, summing the datagram (tempos_frame_sum, bounded: TEMPOS_CSUM_MAX_DATAGRAM);
 *  - generic: the skb stays CHECKSUM_PARTIAL through XDP_TX/redirect and the kernel (or a receiver that trusts
 *    the mark) completes it: the field must become the pseudo-header sum of the rewritten addresses.
 * The adapter tells the program its mode through attached_generic before every attach. */
#ifndef TEMPOS_UDP_CSUM_PARTIAL_H
#define TEMPOS_UDP_CSUM_PARTIAL_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "parsing.h" /* tempos_opaque, tempos_event_view */

/* Longest datagram (UDP header + payload) whose partial checksum the router completes in native mode; longer
 * ones are passed up (TEMPOS_PASS_PARTIAL_CSUM). More than a 1500-byte MTU's datagram. */
#define TEMPOS_CSUM_MAX_DATAGRAM 2048
/* Bytes summed per step: one stack buffer, TEMPOS_CSUM_MAX_DATAGRAM / TEMPOS_CSUM_CHUNK steps at most. */
#define TEMPOS_CSUM_CHUNK 128

/* 1 while the program is attached in generic (skb) mode, 0 in native mode: written by the adapter (.bss) before
 * each attach (plugin/xdp_attachment.cpp). */
__u32 attached_generic = 0;

/* The pseudo-header's contribution (addresses, protocol, UDP length as in the header), unfolded. */
static __always_inline __u64 udp_pseudo_sum(__be32 saddr, __be32 daddr, __be16 udp_len)
{
	return (__u64)saddr + daddr + bpf_htons(IPPROTO_UDP) + udp_len;
}

/* The field of a CHECKSUM_PARTIAL datagram with these addresses and length. Never 0 for a real pseudo-header. */
static __always_inline __u16 udp_partial_field(__be32 saddr, __be32 daddr, __be16 udp_len)
{
	return csum_fold64(udp_pseudo_sum(saddr, daddr, udp_len));
}

/* The same for IPv6 (RFC 8200 8.1): both addresses, the upper-layer length (the UDP length) and next header 17
 * as 32-bit words, which sum as their low 16 bits do. */
static __always_inline __u16 udp6_partial_field(const __u32 *saddr, const __u32 *daddr, __be16 udp_len)
{
	__u64 sum = (__u64)saddr[0] + saddr[1] + saddr[2] + saddr[3] + daddr[0] + daddr[1] + daddr[2] + daddr[3];
	return csum_fold64(sum + bpf_htons(IPPROTO_UDP) + udp_len);
}

/* What the steps of tempos_frame_sum share (on its stack). */
struct tempos_frame_sum_walk {
	struct xdp_md *ctx;
	__u32 off;
	__u32 len;
	__s64 sum; /* < 0 once a step failed */
	__u8 buf[TEMPOS_CSUM_CHUNK];
};

/* One step of TEMPOS_CSUM_CHUNK bytes (fewer at the end): a bpf_loop callback, which the verifier checks once
 * for any step number, where a loop of 16 steps with the Spectre v1 rules (no CAP_PERFMON) was too complex. */
static long tempos_frame_sum_step(__u64 step, void *data)
{
	struct tempos_frame_sum_walk *walk = data;
	if (step >= TEMPOS_CSUM_MAX_DATAGRAM / TEMPOS_CSUM_CHUNK)
		return 1;
	__u32 done = (__u32)step * TEMPOS_CSUM_CHUNK;
	if (done >= walk->len)
		return 1;
	__u32 rest = walk->len - done;
	/* The size is bounded in the register the helper gets (opaque, masked, checked), or clang checks one copy
	 * and passes another the verifier knows nothing about. */
	__u64 size = rest < TEMPOS_CSUM_CHUNK ? rest : TEMPOS_CSUM_CHUNK;
	tempos_opaque(size);
	size &= TEMPOS_CSUM_CHUNK * 2 - 1;
	if (size == 0 || size > TEMPOS_CSUM_CHUNK)
		goto failed;
	if (size < TEMPOS_CSUM_CHUNK) /* the last, short step: zeros after its bytes up to a whole word */
		__builtin_memset(walk->buf, 0, sizeof(walk->buf));
	if (bpf_xdp_load_bytes(walk->ctx, walk->off + done, walk->buf, size) < 0)
		goto failed;
	/* Whole 32-bit words; zero padding adds nothing (RFC 1071). Steps start at multiples of 4, so every 16-bit
	 * word keeps its place. */
	__u64 words = (size + 3) & (TEMPOS_CSUM_CHUNK * 2 - 4);
	tempos_opaque(words);
	if (words > TEMPOS_CSUM_CHUNK)
		goto failed;
	walk->sum = bpf_csum_diff(NULL, 0, (__be32 *)walk->buf, words, (__wsum)walk->sum);
	if (walk->sum < 0)
		return 1;
	return 0;
failed:
	walk->sum = -1;
	return 1;
}

/* One's complement sum (bpf_csum_diff's 32-bit form) of `len` bytes of the frame from offset `off`, read with
 * bpf_xdp_load_bytes into a stack buffer: no packet pointer moves by a variable amount, which the verifier's
 * Spectre v1 rules refuse without CAP_PERFMON. A global function: checked once, with len re-bounded here.
 * Returns < 0 when len is out of [1, TEMPOS_CSUM_MAX_DATAGRAM] or the bytes cannot be read. */
__noinline __s64 tempos_frame_sum(struct xdp_md *ctx, __u32 off, __u32 len)
{
	struct tempos_frame_sum_walk walk;
	if (len == 0 || len > TEMPOS_CSUM_MAX_DATAGRAM) /* ctx, a context argument, is never NULL */
		return -1;
	/* Every byte bpf_csum_diff may read is initialised: the verifier demands it without CAP_PERFMON. */
	__builtin_memset(&walk, 0, sizeof(walk));
	walk.ctx = ctx;
	walk.off = off;
	walk.len = len;
	bpf_loop((len + TEMPOS_CSUM_CHUNK - 1) / TEMPOS_CSUM_CHUNK, tempos_frame_sum_step, &walk, 0);
	return walk.sum;
}

/* How the rewrite writes the UDP checksum field, one formula for every form (no branch on the form in the
 * rewrite):  field' = csum_update(old, delta) ^ flip, sent as 0xffff if 0 (RFC 768); a field of 0 ("no checksum")
 * stays 0.
 *  - complete checksum: old = the field, delta = the addresses' and the port's, flip = 0: the RFC 1624 update;
 *  - partial, native: old = the complete checksum the datagram would have carried, ~fold(its sum as received,
 *    the field included: that field is the old pseudo-header sum), then the same update;
 *  - partial, generic: old = ~field, delta = the addresses' only (no port in the pseudo-header), flip = 0xffff:
 *    fold(field + delta), the pseudo-header sum of the new addresses, never 0. */
struct tempos_udp_check_plan {
	__u64 delta;
	__u64 old;
	__u64 flip;
};

/* The plan of a partial datagram (its field is the pseudo-header sum), from the full-checksum plan the caller
 * filled. A global function, called only for partial datagrams: the full-checksum path makes no call, and the
 * verifier checks the partial forms once. Returns 0, or < 0 when the checksum cannot be completed. */
__noinline int tempos_udp_partial_plan(struct xdp_md *ctx, __u32 l4_off, __u32 udp_len, __u64 addr_delta,
				       struct tempos_udp_check_plan *plan)
{
	if (!plan)
		return -1;
	if (attached_generic) {
		plan->old = (__u16)~plan->old;
		plan->delta = addr_delta;
		plan->flip = 0xffff;
		return 0;
	}
	__s64 sum = tempos_frame_sum(ctx, l4_off, udp_len);
	if (sum < 0)
		return -1;
	plan->old = (__u16)~csum_fold64((__u64)sum);
	return 0;
}

/* Before the rewrite: recognises the form and fills the plan. partial_field is what the field would hold if the
 * datagram were CHECKSUM_PARTIAL (udp_partial_field, udp6_partial_field); addr_delta is the addresses'
 * contribution (shared with the IPv4 checksum), port_delta the destination port's. A full or absent checksum
 * costs one comparison more than the incremental update itself. Returns 0, or < 0 when the checksum cannot be
 * completed (the frame is then passed up untouched). */
static __always_inline int tempos_udp_check_prepare(struct xdp_md *ctx, const struct tempos_event_view *view,
						    __u16 partial_field, __u64 addr_delta, __u64 port_delta,
						    struct tempos_udp_check_plan *plan)
{
	__u16 check = view->udp_check;
	plan->old = check;
	plan->delta = addr_delta + port_delta;
	plan->flip = 0;
	/* A partial field is never 0, so a field of 0 ("none") is not taken for one. */
	if (check != partial_field)
		return 0;
	return tempos_udp_partial_plan(ctx, view->l4_off, view->udp_len, addr_delta, plan);
}

/* The UDP checksum field the plan gives, whatever form it came in; never 0 from a non-zero field (0 means
 * "none", which IPv4 keeps and IPv6 never has). The router's rewrite writes it, and the best-effort path
 * (best_effort.h) for an IPv6 partial datagram, whose plan has no delta: the field completed in place. */
static __always_inline __u16 rewritten_udp_check(const struct tempos_udp_check_plan *udp_plan)
{
	__u16 check = csum_update((__u16)udp_plan->old, udp_plan->delta) ^ (__u16)udp_plan->flip;
	return check ? check : 0xffff;
}

#endif /* TEMPOS_UDP_CSUM_PARTIAL_H */
