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
#include "parsing.h" /* tempos_opaque */

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

/* The UDP checksum of one event through the rewrite: the header fields as received (filled by the caller), what
 * tempos_udp_csum_prepare found, and the new fields (filled by the rewrite). */
struct tempos_udp_csum {
	__u64 received_sum; /* native and partial: the sum of the datagram as received (tempos_frame_sum) */
	__be32 saddr, daddr, new_saddr, new_daddr;
	__u32 l4_off;   /* the UDP header's offset in the frame */
	__u32 udp_len;  /* host order */
	__be16 len;     /* the UDP header's length field, as in the frame */
	__be16 check;   /* the field as received */
	__be16 dport, new_dport;
	__u32 partial;  /* the field holds the pseudo-header sum of a CHECKSUM_PARTIAL datagram */
	__u32 _pad;
	__u64 addr_delta; /* the IP addresses' contribution to an incremental update (shared with the IP checksum) */
};

/* Before the rewrite: recognises the partial form and, in native mode, sums the datagram. Returns 0, or < 0 when
 * the checksum cannot be completed (the frame is then passed up untouched). Global functions, like the one below:
 * the verifier checks each once, instead of once per path of the router (route with MAC or FIB, XDP_TX or
 * redirect), which doubled the router's verification and load time. */
__noinline int tempos_udp_csum_prepare(struct xdp_md *ctx, struct tempos_udp_csum *c)
{
	if (!c)
		return -1;
	c->partial = c->check != 0 && c->check == udp_partial_field(c->saddr, c->daddr, c->len);
	if (!c->partial || attached_generic)
		return 0;
	__s64 sum = tempos_frame_sum(ctx, c->l4_off, c->udp_len);
	if (sum < 0)
		return -1;
	c->received_sum = (__u64)sum;
	return 0;
}

/* After the rewrite: the new field. 0 ("no checksum") stays 0; a computed 0 is sent as 0xffff (RFC 768).
 *  - complete checksum: updated incrementally (RFC 1624) for the new addresses and port;
 *  - partial, generic: the pseudo-header sum of the new addresses (the kernel completes it);
 *  - partial, native: the complete checksum, from the datagram's sum less its old field and old port. */
__noinline __u32 tempos_udp_csum_final(const struct tempos_udp_csum *c)
{
	if (!c)
		return 0;
	if (c->partial && attached_generic)
		return udp_partial_field(c->new_saddr, c->new_daddr, c->len);
	__u64 port_delta = csum_replace16(c->dport, c->new_dport);
	__u16 check;
	if (c->partial)
		check = (__u16)~csum_fold64((__u32)c->received_sum + (__u64)(__u16)~c->check + port_delta +
					    udp_pseudo_sum(c->new_saddr, c->new_daddr, c->len));
	else if (c->check)
		check = csum_update(c->check, c->addr_delta + port_delta);
	else
		return 0;
	return check ? check : 0xffff;
}

#endif /* TEMPOS_UDP_CSUM_PARTIAL_H */
