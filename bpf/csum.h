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

/* Contribution of replacing an IPv6 address (four 32-bit words, either side in the packet, a map or the stack). */
static __always_inline __u64 csum_replace128(const __u32 *old_addr, const __u32 *new_addr)
{
	return csum_replace32(old_addr[0], new_addr[0]) + csum_replace32(old_addr[1], new_addr[1]) +
	       csum_replace32(old_addr[2], new_addr[2]) + csum_replace32(old_addr[3], new_addr[3]);
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

#endif /* TEMPOS_CSUM_H */
