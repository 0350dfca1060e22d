/* Everything that crosses the kernel boundary between the XDP topic router (bpf/) and user space
 * (plugin/, tests/, bench/). This is the only definition: the BPF C and the C++ side both include it.
 * Plain C, fixed-width kernel types, explicit padding so both compilers lay the structs out identically. */
#ifndef TEMPOS_XDP_ABI_H
#define TEMPOS_XDP_ABI_H

#include <linux/types.h>

/* Bumped whenever a struct, an enum or a map below changes shape; checked in plugin/xdp_abi_layout.cpp.
 * 2: TEMPOS_PASS_NOT_FOR_US and the local destination maps (bpf/destination.h).
 * 3: TEMPOS_PASS_TOO_BIG (tempos_topic_counters grows) and the egress_vlans map (bpf/egress_vlan.h).
 * 4: local_destinations (two versioned lists) replaces the local_macs and local_ipv4 hash maps.
 * 5: IPv6 (docs/ipv6.md): tempos_endpoint.ipv6 and TEMPOS_EP_IPV6 (tempos_endpoint, tempos_route and
 *    tempos_fanout_member grow), TEMPOS_PASS_EXT_HEADER and TEMPOS_PASS_FAMILY, IPv6 in tempos_local_set; the
 *    fan-out's too_big counters (tempos_fanout_group_counters and tempos_fanout_topic_counters grow).
 * 6: IPv6 in the TC fan-out: tempos_fanout_topic_counters.passed_family (appended).
 * 7: IPv6 best-effort events and the per-publisher limit for IPv6 sources: pub_buckets is keyed by
 *    tempos_source_key (16 bytes, an IPv4 source IPv4-mapped) instead of the source IPv4. */
#define TEMPOS_XDP_ABI_VERSION 7

#define TEMPOS_MAX_TOPICS 256
/* Members of one subscription group served by the kernel fast path. */
#define TEMPOS_MAX_SUBSCRIBERS 16
/* Index of the counters slot for packets that carry no topic (not IPv4/IPv6 UDP to our port, malformed...). */
#define TEMPOS_NO_TOPIC_SLOT TEMPOS_MAX_TOPICS

/* tempos_endpoint.flags */
#define TEMPOS_EP_HAS_MAC 0x1 /* mac/src_mac/ifindex are set; otherwise bpf_fib_lookup resolves them */
#define TEMPOS_EP_IPV6 0x2    /* an IPv6 subscriber: its address is ipv6, ipv4 is 0. Only IPv6 frames are routed to it */

struct tempos_endpoint {
	__be32 ipv4;       /* IPv4 subscriber address, network order (0 with TEMPOS_EP_IPV6) */
	__be16 port;       /* subscriber UDP port, network order */
	__u16 flags;       /* TEMPOS_EP_* */
	__u8 mac[6];       /* subscriber MAC (TEMPOS_EP_HAS_MAC) */
	__u8 src_mac[6];   /* MAC of the egress interface (TEMPOS_EP_HAS_MAC) */
	__u32 ifindex;     /* egress interface; 0 = the interface the frame arrived on (XDP_TX) */
	__be32 ipv6[4];    /* IPv6 subscriber address, network order (TEMPOS_EP_IPV6); 0 otherwise */
};

/* The value of a strict topic: one subscription group, all of whose members are of one family (the adapter
 * refuses a strict group mixing them: the router cannot turn an IPv4 frame into an IPv6 one). Written once into a fresh inner map and never
 * modified afterwards (see the comment on topic_routes in bpf/router_maps.h). */
struct tempos_route {
	__u32 count; /* 1..TEMPOS_MAX_SUBSCRIBERS valid entries in subs */
	__u32 _pad;
	struct tempos_endpoint subs[TEMPOS_MAX_SUBSCRIBERS];
};

/* Why a frame was handed to the kernel stack (XDP_PASS). */
enum tempos_pass_reason {
	TEMPOS_PASS_NOT_IPV4 = 0,   /* neither IPv4 nor IPv6 (ARP, ...) or truncated L2 (the fan-out: not IPv4) */
	TEMPOS_PASS_MALFORMED,      /* truncated or inconsistent IPv4/IPv6/UDP header or lengths; an IPv6 UDP checksum 0 */
	TEMPOS_PASS_FRAGMENT,       /* MF set or fragment offset != 0; an IPv6 fragment header */
	TEMPOS_PASS_NOT_OUR_PORT,   /* not UDP, or UDP to another port */
	TEMPOS_PASS_NO_PAYLOAD,     /* UDP to our port with 0 payload bytes */
	TEMPOS_PASS_NOT_STRICT,     /* topic not configured as strict here */
	TEMPOS_PASS_TTL,            /* TTL (IPv6: hop limit) <= 1 */
	TEMPOS_PASS_FIB,            /* no MAC configured and bpf_fib_lookup did not succeed (e.g. NO_NEIGH) */
	TEMPOS_PASS_NO_EGRESS,      /* the endpoint's egress ifindex has no entry in egress_ports */
	TEMPOS_PASS_FANOUT,         /* strict topic with several groups: handed to the TC fan-out program */
	TEMPOS_PASS_PARTIAL_CSUM,   /* native mode, CHECKSUM_PARTIAL datagram longer than the router completes (a strict
				     * event it would route, or an IPv6 best-effort event for the best-effort CPUs) */
	TEMPOS_PASS_NOT_FOR_US,     /* to our port, but its destination MAC or IP is not this MoM's (bpf/destination.h) */
	TEMPOS_PASS_TOO_BIG,        /* the IP datagram is longer than the egress MTU (the FIB's answer FRAG_NEEDED, or the
				     * device the frame would be handed to): the socket path sends it, fragmented */
	TEMPOS_PASS_EXT_HEADER,     /* IPv6 extension headers the router does not skip (bpf/parsing6.h): AH, ESP, a routing
				     * header with segments left, mobility/HIP/shim6/experimental, or more than it skips */
	TEMPOS_PASS_FAMILY,         /* the frame's IP family is not its member's (an IPv4 event for an IPv6 group, or the
				     * reverse): the socket path sends it. The router also counts an IPv6 event of a fan-out
				     * topic here (written before the fan-out took IPv6); the TC fan-out serves it and
				     * counts it in tempos_fanout_topic_counters */
	TEMPOS_PASS_REASONS
};

/* Why admission control dropped an event (XDP_DROP), docs/isolation.md. */
enum tempos_police_reason {
	TEMPOS_POLICE_TOPIC_RATE = 0,  /* over the topic's rate_limit/burst */
	TEMPOS_POLICE_PUBLISHER_RATE,  /* over [mom] publisher_rate_limit/publisher_burst for its source address */
	TEMPOS_POLICE_CONTENDED,       /* the shared bucket changed under every bounded CAS attempt: never admitted */
	TEMPOS_POLICE_REASONS
};

/* Per-CPU, per-topic counters; slot TEMPOS_NO_TOPIC_SLOT counts frames without a topic. Each frame the router
 * sees moves exactly one of redirected_packets, aborted, passed[], best_effort_offered and policed[]. */
struct tempos_topic_counters {
	__u32 rr_next; /* round-robin cursor of this CPU (per-CPU: no data race, no atomics) */
	__u32 _pad;
	__u64 redirected_packets;
	__u64 redirected_bytes;
	__u64 aborted;
	__u64 passed[TEMPOS_PASS_REASONS];
	/* Handed to the best-effort cpumap (bpf/best_effort.h) by the router ... */
	__u64 best_effort_offered;
	/* ... and seen by its cpumap-entry program on a best-effort CPU (counted on that CPU). Once the queues are
	 * idle, offered - arrived is what the cpumap queues dropped. */
	__u64 best_effort_arrived;
	__u64 policed[TEMPOS_POLICE_REASONS];
};

/* ---- Best-effort isolation (bpf/best_effort.h, bpf/admission.h, docs/isolation.md) ---- */

/* Entries of the best-effort cpumap (keyed by CPU number) and of its list of target CPUs. */
#define TEMPOS_MAX_CPUS 128
/* Source addresses (IPv4 and IPv6 together) whose bucket the per-publisher limit tracks (LRU: the least recent is
 * forgotten). */
#define TEMPOS_MAX_PUBLISHERS 16384
/* Slot of topic_limits that holds the per-publisher limit (slots 0..255 are the topics'). */
#define TEMPOS_PUBLISHER_LIMIT_SLOT TEMPOS_MAX_TOPICS

/* topic_classes value: what the router does with a topic it does not route itself. */
#define TEMPOS_CLASS_STRICT 0x1 /* strict (e.g. served by the socket path): XDP_PASS, never the best-effort CPUs */

/* A GCRA limit (the virtual-scheduling form of a token bucket): one event per interval_ns on average, up to
 * `burst` back to back. Written once into a fresh inner map and never modified (swapped like a route). */
struct tempos_rate_limit {
	__u64 interval_ns;  /* 1e9 / rate_limit, >= 1 */
	__u64 tolerance_ns; /* interval_ns * (burst - 1): how far ahead of now the schedule may run */
};

/* The key of a publisher's bucket in pub_buckets: its full source address as an IPv6 address, network order; an
 * IPv4 source a.b.c.d as the IPv4-mapped ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so an IPv6 frame from that mapped
 * address shares the IPv4 source's bucket (one address, one family, as everywhere in the configuration). The
 * whole 128 bits, not the /64 prefix: the hosts of one IPv6 link (a Thread or 6LoWPAN mesh behind its border
 * router, say) share a /64, and each is a publisher of its own (docs/isolation.md). */
struct tempos_source_key {
	__be32 addr[4];
};

/* The shared state of one bucket (a topic's in topic_buckets, a publisher's in pub_buckets): the
 * theoretical arrival time of the next conforming event, updated only by compare-and-swap. */
struct tempos_bucket {
	__u64 tat_ns;
};

/* ---- Local destinations (bpf/destination.h) ----
 * Both programs take a frame only if its destination MAC and destination IPv4 (the router: or IPv6) are in the
 * current version of local_destinations (one ARRAY entry); the adapter keeps it equal to the interface's (and its VLAN
 * sub-interfaces') MACs and the addresses the MoM listens on. Lists, not hash maps: a node has one or two of each,
 * and the programs scan a short list in a few ns where two hash lookups cost tens on every event. Two versions: the
 * adapter writes the one not in use, then flips `current`, so a program never reads a half-written list. */
#define TEMPOS_MAX_LOCAL_MACS 16
#define TEMPOS_MAX_LOCAL_IPV4 64
#define TEMPOS_MAX_LOCAL_IPV6 64
#define TEMPOS_LOCAL_VERSIONS 2

/* An IPv6 address, network order. */
struct tempos_ipv6_key {
	__u8 addr[16];
};

struct tempos_local_set {
	__u32 mac_count;  /* entries of macs[] in use */
	__u32 ipv4_count; /* entries of ipv4[] in use */
	__u32 ipv6_count; /* entries of ipv6[] in use */
	__u32 _pad;
	__u64 macs[TEMPOS_MAX_LOCAL_MACS]; /* a MAC in the first 6 bytes (memory order), then 2 zero bytes */
	__be32 ipv4[TEMPOS_MAX_LOCAL_IPV4];
	struct tempos_ipv6_key ipv6[TEMPOS_MAX_LOCAL_IPV6]; /* 8-byte aligned: read as two __u64 */
};

struct tempos_local_destinations {
	__u32 current; /* the version the programs read: 0 or 1 */
	__u32 _pad;
	struct tempos_local_set versions[TEMPOS_LOCAL_VERSIONS];
};

/* ---- Egress tagging (bpf/egress_vlan.h, docs/config.md#vlan) ----
 * A routed frame leaves with the tagging of its egress interface, never with the tags it arrived with. An egress
 * interface that is a VLAN sub-interface has an entry in egress_vlans (keyed by its ifindex): the frame carries
 * exactly that one tag and is handed to the lower device. Any other egress interface: untagged. */
#define TEMPOS_MAX_EGRESS_VLANS 64

struct tempos_egress_vlan {
	__u32 lower_ifindex; /* the VLAN device's lower (real) device, where the frame is handed */
	__be16 tpid;         /* 0x8100 (802.1Q) or 0x88a8 (802.1ad), network order */
	__be16 tci;          /* the VLAN id, priority and DEI 0, network order */
};

/* ---- Kernel fan-out (bpf/fanout.bpf.c, docs/fanout.md) ----
 * A strict topic with several subscription groups is served by a TC ingress program that clones the frame once
 * per group. XDP passes such topics up because they are not in topic_routes. */

/* Subscription groups of one topic served by the kernel fan-out; enforced at configuration time. */
#define TEMPOS_MAX_FANOUT_GROUPS 16
/* Slots of one topic's inner fan-out map: member m of group g is slot g * TEMPOS_MAX_SUBSCRIBERS + m. */
#define TEMPOS_FANOUT_SLOTS (TEMPOS_MAX_FANOUT_GROUPS * TEMPOS_MAX_SUBSCRIBERS)

/* One slot of a fan-out route. Every member carries its group's size, so the program finds the group size and
 * the chosen member with two array lookups (map keys, no variable offsets into map values). The groups are
 * slots 0, 16, 32, ...: the first group whose slot 0 has group_size 0 ends the list. */
struct tempos_fanout_member {
	struct tempos_endpoint ep;
	__u32 group_size; /* 1..TEMPOS_MAX_SUBSCRIBERS; 0 in unused slots */
	__u32 _pad;
};

/* Per-CPU, per topic and group: key topic * TEMPOS_MAX_FANOUT_GROUPS + group. */
struct tempos_fanout_group_counters {
	__u32 rr_next;       /* round-robin cursor of this group on this CPU (not a count) */
	__u32 _pad;
	__u64 copies;        /* clones sent toward this group */
	__u64 bytes;         /* their frame bytes */
	__u64 clone_errors;  /* bpf_clone_redirect failed: this group missed the event */
	__u64 unresolved;    /* member without MAC whose FIB lookup failed: the event went to the socket path */
	__u64 too_big;       /* member without MAC, the datagram longer than its route's MTU (the FIB's answer
			      * FRAG_NEEDED): the event went to the socket path, which fragments it */
};

/* Per-CPU, per topic. */
struct tempos_fanout_topic_counters {
	__u64 events;            /* fanned out in the kernel (the original dropped, never seen by the MoM) */
	__u64 passed_ttl;        /* TTL <= 1: to the socket path */
	__u64 passed_unresolved; /* some group could not be resolved: the whole event to the socket path */
	__u64 passed_gso;        /* a GSO/GRO aggregate: to the socket path */
	__u64 aborted;           /* a route slot is inconsistent (written bypassing FanoutTable): to the socket path */
	__u64 passed_too_big;    /* some group's route MTU is below the datagram: the whole event to the socket path */
	__u64 passed_family;     /* the event's IP family is not its members' (an IPv4 event of IPv6 groups, or the
				  * reverse): to the socket path, which sends it through their family */
};

/* ---- The pinned data plane (adapter option persist, docs/restart.md) ----
 * With persist = true the router's bpf_link and its maps (and the fan-out's) are pinned in bpffs under
 *   TEMPOS_PIN_ROOT/<network namespace inode>/<interface>/schema-<TEMPOS_PIN_SCHEMA>/<name>
 * where <name> is a map's name in the programs (topic_routes, topic_counters, ...) or one of the link names
 * below. A tempos-mom of the same schema reuses the maps and swaps its program into the pinned links; another
 * schema is refused. The schema is this ABI's version: every pinned value type is defined above. */
#define TEMPOS_PIN_SCHEMA TEMPOS_XDP_ABI_VERSION
#define TEMPOS_PIN_BPFFS "/sys/fs/bpf"
#define TEMPOS_PIN_ROOT TEMPOS_PIN_BPFFS "/tempos"
#define TEMPOS_PIN_SCHEMA_PREFIX "schema-"
#define TEMPOS_PIN_ROUTER_LINK "router_link"
#define TEMPOS_PIN_FANOUT_LINK "fanout_link"

/* The MoM's ingress steering (bpf/ingress_steering.bpf.c, SK_REUSEPORT): its socket array holds the strict
 * socket at key TEMPOS_INGRESS_SOCKET_STRICT and the best-effort one at TEMPOS_INGRESS_SOCKET_BEST_EFFORT; its
 * topic array holds a __u32 per topic, TEMPOS_INGRESS_CLASS_STRICT for strict topics, 0 for every other one. */
#define TEMPOS_INGRESS_SOCKET_STRICT 0
#define TEMPOS_INGRESS_SOCKET_BEST_EFFORT 1
#define TEMPOS_INGRESS_CLASS_STRICT 1

#endif /* TEMPOS_XDP_ABI_H */
