/* Tables whose values are replaced atomically (routes, fan-out routes, rate limits): an ARRAY_OF_MAPS whose slots
 * hold inner ARRAY maps, each published once and never written again.
 *
 * An update is: user space creates a FRESH inner map, writes its entries (and freezes it), then replaces the
 * outer slot. The kernel swaps the inner-map pointer atomically and frees the old inner map only after an RCU
 * grace period, so a packet sees either the old or the new value, never a mix. Both lookups are array lookups
 * that the verifier inlines into a bounds check plus pointer arithmetic: no helper call, no hashing. */
#ifndef TEMPOS_PUBLISHED_MAP_H
#define TEMPOS_PUBLISHED_MAP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* `name`: `slots` slots (keys 0..slots-1), each an inner map of `inner_entries` values of `value_type`. The inner
 * map is declared by sizes, not BTF types: clang would emit the value struct only as a forward declaration. */
#define TEMPOS_PUBLISHED_MAP(name, slots, inner_entries, value_type)                                               \
	struct name##_inner {                                                                                      \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                                  \
		__uint(max_entries, inner_entries);                                                                \
		__uint(key_size, sizeof(__u32));                                                                   \
		__uint(value_size, sizeof(value_type));                                                            \
	};                                                                                                         \
	struct {                                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                                                          \
		__uint(max_entries, slots);                                                                        \
		__type(key, __u32);                                                                                \
		__array(values, struct name##_inner);                                                              \
	} name SEC(".maps")

#endif /* TEMPOS_PUBLISHED_MAP_H */
