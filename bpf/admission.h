/* Admission control in XDP (docs/isolation.md): a topic may carry a rate limit (rate_limit, burst in the
 * Controller TOML), and best-effort events also meet a per-publisher limit (the source address, IPv4 or IPv6,
 * [mom] publisher_rate_limit / publisher_burst). An event over a limit is dropped before any skb exists and counted per
 * topic and reason (tempos_topic_counters.policed).
 *
 * Each limit is a GCRA (the virtual-scheduling form of a token bucket) over ONE bucket shared by every CPU: the
 * limit is the configured one whatever the number of CPUs, and no update is lost, because the bucket's single
 * word (its theoretical arrival time) changes only by compare-and-swap. After TEMPOS_CAS_ATTEMPTS failed swaps
 * the event is dropped as `contended`: never admitted without its swap.
 *
 * Included by router.bpf.c; user space: bpf/admission_table.cpp. */
#ifndef TEMPOS_ADMISSION_H
#define TEMPOS_ADMISSION_H

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "published_map.h"

#define TEMPOS_CAS_ATTEMPTS 4
#define TEMPOS_ADMITTED (-1)

/* Test-only clock: when non-zero the admission clock reads it instead of bpf_ktime_get_ns(), so the fixtures move
 * time by writing it (no sleeps). Nothing in the product writes it. */
__u64 admission_test_clock_ns = 0;

/* Slot topic -> that topic's limit; slot TEMPOS_PUBLISHER_LIMIT_SLOT -> the per-publisher limit. An empty slot is
 * no limit. A change swaps the inner map (published_map.h): a packet sees the old or the new limit, never a mix. */
TEMPOS_PUBLISHED_MAP(topic_limits, TEMPOS_MAX_TOPICS + 1, 1, struct tempos_rate_limit);

/* Not per-CPU: one bucket per topic for every CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TEMPOS_MAX_TOPICS);
	__type(key, __u32);
	__type(value, struct tempos_bucket);
} topic_buckets SEC(".maps");

/* Source address (tempos_source_key: IPv6, or IPv4-mapped) -> its bucket; the least recently seen source is
 * forgotten when full. One map for both families: one limit, one implementation. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TEMPOS_MAX_PUBLISHERS);
	__type(key, struct tempos_source_key);
	__type(value, struct tempos_bucket);
} pub_buckets SEC(".maps");

static __always_inline __u64 admission_now(void)
{
	__u64 test_clock = admission_test_clock_ns;
	return test_clock ? test_clock : bpf_ktime_get_ns();
}

static __always_inline const struct tempos_rate_limit *limit_of(__u32 slot)
{
	void *inner = bpf_map_lookup_elem(&topic_limits, &slot);
	if (!inner)
		return 0;
	__u32 zero = 0;
	return bpf_map_lookup_elem(inner, &zero);
}

/* TEMPOS_ADMITTED, `over` (the event does not conform) or TEMPOS_POLICE_CONTENDED. Conforming means: the
 * bucket's schedule, moved up to now if behind, runs at most tolerance_ns ahead of now; admitting moves it one
 * interval on. `burst` back-to-back events conform on an idle bucket. */
static __always_inline int gcra(struct tempos_bucket *bucket, const struct tempos_rate_limit *limit, __u64 now,
				int over)
{
	__u64 interval = limit->interval_ns;
	__u64 tolerance = limit->tolerance_ns;
#pragma clang loop unroll(full)
	for (int attempt = 0; attempt < TEMPOS_CAS_ATTEMPTS; attempt++) {
		__u64 old = *(volatile __u64 *)&bucket->tat_ns;
		__u64 tat = old > now ? old : now;
		if (tat - now > tolerance)
			return over;
		if (__sync_val_compare_and_swap(&bucket->tat_ns, old, tat + interval) == old)
			return TEMPOS_ADMITTED;
	}
	return TEMPOS_POLICE_CONTENDED;
}

/* The key of an IPv4 source: ::ffff:a.b.c.d (xdp_abi.h). */
static __always_inline void ipv4_source_key(__be32 saddr, struct tempos_source_key *key)
{
	key->addr[0] = 0;
	key->addr[1] = 0;
	key->addr[2] = bpf_htonl(0xffff);
	key->addr[3] = saddr;
}

/* Global, not inlined: verified once on its own (with unknown arguments), so the router's own verification
 * does not grow with the CAS loops. `source`: the publisher's key of a best-effort event, whose publisher limit
 * applies too; NULL for a strict event (never policed by publisher: a publisher's own best-effort flood must not
 * police its strict events). The publisher is checked first, so a flooding source is cut at its own limit before
 * it spends the topic's shared budget. */
__noinline int admit(__u32 topic, const struct tempos_source_key *source)
{
	__u64 now = 0;
	if (source) {
		const struct tempos_rate_limit *limit = limit_of(TEMPOS_PUBLISHER_LIMIT_SLOT);
		if (limit) {
			now = admission_now();
			struct tempos_bucket *bucket = bpf_map_lookup_elem(&pub_buckets, source);
			if (!bucket) {
				struct tempos_bucket fresh = {0};
				bpf_map_update_elem(&pub_buckets, source, &fresh, BPF_NOEXIST);
				bucket = bpf_map_lookup_elem(&pub_buckets, source);
			}
			if (!bucket) /* evicted at once by a flood of new sources: cannot be checked, so not admitted */
				return TEMPOS_POLICE_CONTENDED;
			int verdict = gcra(bucket, limit, now, TEMPOS_POLICE_PUBLISHER_RATE);
			if (verdict != TEMPOS_ADMITTED)
				return verdict;
		}
	}
	if (topic >= TEMPOS_MAX_TOPICS)
		return TEMPOS_ADMITTED;
	const struct tempos_rate_limit *limit = limit_of(topic);
	if (!limit)
		return TEMPOS_ADMITTED;
	struct tempos_bucket *bucket = bpf_map_lookup_elem(&topic_buckets, &topic);
	if (!bucket)
		return TEMPOS_ADMITTED;
	if (!now)
		now = admission_now();
	return gcra(bucket, limit, now, TEMPOS_POLICE_TOPIC_RATE);
}

#endif /* TEMPOS_ADMISSION_H */
