// Folding the kernel's per-CPU counters and the socket path's counters into one TopicStats.
#pragma once

#include <span>

#include "socket_path.hpp"
#include "tempos/adapter.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

// `kernel` is already summed over CPUs (RouteTable::read_counters). The round-robin cursor is not a counter.
void add_kernel_counters(TopicStats& stats, const tempos_topic_counters& kernel);
// A fan-out topic: `groups` are the per-group counters (each summed over CPUs). Copies count as kernel packets
// (one per group and event), passes as kernel_passed, aborted events and failed clones as kernel_dropped.
void add_fanout_counters(TopicStats& stats, const tempos_fanout_topic_counters& topic,
                         std::span<const tempos_fanout_group_counters> groups);
void add_socket_counters(TopicStats& stats, const SocketCounters& sockets);
bool has_traffic(const TopicStats& stats);

}  // namespace tempos::xdp
