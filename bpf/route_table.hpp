// User-space side of the router's maps: publishes routes atomically and reads the per-CPU counters.
// Operates on the map fds of a loaded tempos_router object (it does not own them).
#pragma once

#include <cstdint>
#include <span>

#include "map_ops.hpp"
#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

class RouteTable {
public:
    RouteTable(int topic_routes_fd, int topic_counters_fd);

    // Publishes a route: creates a fresh inner map, writes entry 0, freezes it, then replaces the topic's
    // slot in topic_routes (an atomic pointer swap in the kernel). The previous inner map is never written.
    tempos::Status set(std::uint8_t topic, const tempos_route& route);
    // set() in two halves, for many topics at once (XdpAdapter::configure_topics): prepare() validates the route
    // and writes it into a fresh frozen inner map; publish() swaps such maps into their topics' slots with one
    // batched update (map_ops.hpp: one RCU grace period for all of them, each slot swapped atomically on its own).
    // `published`: how many of the first topics took effect; the error, if any, is topic[published]'s.
    tempos::Result<tempos::UniqueFd> prepare(std::uint8_t topic, const tempos_route& route) const;
    tempos::Status publish(std::span<const std::uint32_t> topics, std::span<const int> inner_fds,
                           std::uint32_t& published);
    // Makes the topic pass (not strict). Removing an absent topic is not an error.
    tempos::Status remove(std::uint8_t topic);
    // The slot remove() empties, for clear_slots (map_ops.hpp: many removals at once).
    SlotToClear slot(std::uint8_t topic) const;
    // Sum over all possible CPUs (libbpf_num_possible_cpus()) of slot 0..TEMPOS_NO_TOPIC_SLOT. rr_next is
    // per-CPU state, not a count: the sum reports it as 0.
    tempos::Result<tempos_topic_counters> read_counters(std::uint32_t slot) const;

    // A route the kernel program can serve: 1..TEMPOS_MAX_SUBSCRIBERS members, each with an address and port.
    static tempos::Status validate(const tempos_route& route);

private:
    int topic_routes_fd_;
    int topic_counters_fd_;
};

}  // namespace tempos::xdp
