/* fanout_routes, the one map both kernel programs read: the TC fan-out program routes by it, and the XDP router
 * looks a topic up in it only to count a hand-over (TEMPOS_PASS_FANOUT). The adapter loads the router first and
 * gives this map's fd to the fan-out program (bpf_map__reuse_fd), so there is one map and no second copy of the
 * set of fanned-out topics to keep in step. */
#ifndef TEMPOS_FANOUT_ROUTES_MAP_H
#define TEMPOS_FANOUT_ROUTES_MAP_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "tempos/xdp_abi.h"
#include "published_map.h"

/* topic -> fan-out route: that topic's groups and members (see struct tempos_fanout_member), atomically replaced
 * like topic_routes (published_map.h). */
TEMPOS_PUBLISHED_MAP(fanout_routes, TEMPOS_MAX_TOPICS, TEMPOS_FANOUT_SLOTS, struct tempos_fanout_member);

#endif /* TEMPOS_FANOUT_ROUTES_MAP_H */
