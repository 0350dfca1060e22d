// User-space side of the fan-out program's maps (bpf/fanout_maps.h): publishes a topic's groups atomically and
// reads the per-CPU counters. Operates on the map fds of a loaded tempos_fanout object (it does not own them).
#pragma once

#include <cstdint>
#include <span>

#include "map_ops.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

class FanoutTable {
public:
    FanoutTable(int fanout_routes_fd, int group_counters_fd, int topic_counters_fd);

    // Publishes one topic's groups (each a tempos_route, as for the router): fills a FRESH inner map, freezes it,
    // then replaces the topic's slot in fanout_routes (an atomic pointer swap in the kernel).
    tempos::Status set(std::uint8_t topic, std::span<const tempos_route> groups);
    // set() in two halves, for many topics at once (XdpAdapter::configure_topics), as RouteTable::prepare and
    // publish: one batched update of fanout_routes for all of them.
    tempos::Result<tempos::UniqueFd> prepare(std::uint8_t topic, std::span<const tempos_route> groups) const;
    tempos::Status publish(std::span<const std::uint32_t> topics, std::span<const int> inner_fds,
                           std::uint32_t& published);
    // The topic is no longer fanned out in the kernel. Removing an absent topic is not an error.
    tempos::Status remove(std::uint8_t topic);
    // The slot remove() empties, for clear_slots.
    SlotToClear slot(std::uint8_t topic) const;
    // Sums over all possible CPUs; rr_next is per-CPU state and reads as 0.
    tempos::Result<tempos_fanout_topic_counters> read_topic_counters(std::uint8_t topic) const;
    tempos::Result<tempos_fanout_group_counters> read_group_counters(std::uint8_t topic, std::uint32_t group) const;

    // 1..TEMPOS_MAX_FANOUT_GROUPS groups of 1..TEMPOS_MAX_SUBSCRIBERS members, each with an address and port.
    static tempos::Status validate(std::span<const tempos_route> groups);
    // The inner map's slots for these groups (slot g * TEMPOS_MAX_SUBSCRIBERS + m), unused slots zero.
    // Exposed for the tests; validate() first.
    static void fill_slots(std::span<const tempos_route> groups, std::span<tempos_fanout_member> slots);

private:
    int routes_fd_;
    int group_counters_fd_;
    int topic_counters_fd_;
};

}  // namespace tempos::xdp
