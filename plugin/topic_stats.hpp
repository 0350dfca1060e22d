// Folding the kernel's per-CPU counters and the socket path's counters into one TopicStats.
#pragma once

#include "socket_path.hpp"
#include "tempos/adapter.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

// `kernel` is already summed over CPUs (RouteTable::read_counters). The round-robin cursor is not a counter.
void add_kernel_counters(TopicStats& stats, const tempos_topic_counters& kernel);
void add_socket_counters(TopicStats& stats, const SocketCounters& sockets);
bool has_traffic(const TopicStats& stats);

}  // namespace tempos::xdp
