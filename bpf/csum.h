/* RFC 1624 incremental Internet checksum updates: HC' = ~(~HC + ~m + m').
 * Words are summed as loaded from the packet (network order); one's complement addition is byte-order
 * independent, so no byte swapping is needed. Sums are accumulated in 64 bits and folded completely: a
 * single fold can leave a carry (katran#16), so we fold until nothing above bit 15 remains. */
#ifndef TEMPOS_CSUM_H
#define TEMPOS_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Contribution of replacing the 32-bit word old_word by new_word. */
static __always_inline __u64 csum_replace32(__u32 old_word, __u32 new_word)
{
	return (__u64)(__u32)~old_word + new_word;
}

static __always_inline __u64 csum_replace16(__u16 old_word, __u16 new_word)
{
	return (__u64)(__u16)~old_word + new_word;
}

/* Folds a 64-bit one's complement sum into 16 bits, with every carry added back. */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32); /* < 2^33 */
	sum = (sum & 0xffff) + (sum >> 16);     /* < 2^17 + 2^16 */
	sum = (sum & 0xffff) + (sum >> 16);     /* <= 0xffff + 2 */
	sum = (sum & 0xffff) + (sum >> 16);     /* <= 0xffff */
	return (__u16)sum;
}

/* New checksum from the old one and the summed contributions of the replaced words. */
static __always_inline __u16 csum_update(__u16 old_csum, __u64 delta)
{
	return (__u16)~csum_fold64((__u64)(__u16)~old_csum + delta);
}

/* A CHECKSUM_PARTIAL datagram (sent by a local or veth socket with checksum offload on) carries in its UDP
 * checksum only the folded pseudo-header sum (~csum_tcpudp_magic): the device was to complete it. Such a frame
 * delivered as a CHECKSUM_NONE skb (after a cpumap, or XDP_TX toward a real wire) fails the UDP verification.
 * A complete checksum equal to that value is a 1 in 65536 coincidence, and treating it as partial (setting it to
 * 0, "none") loses only the check. Words are summed as loaded, like the helpers above. */
static __always_inline int udp_csum_is_partial(__be32 saddr, __be32 daddr, __be16 udp_len, __u16 udp_check)
{
	__u64 sum = (__u64)saddr + daddr + bpf_htons(17 /* IPPROTO_UDP */) + udp_len;
	return udp_check == csum_fold64(sum);
}

#endif /* TEMPOS_CSUM_H */
