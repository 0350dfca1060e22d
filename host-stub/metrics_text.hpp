// Renders the MoM's counters in the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "adapter_set.hpp"
#include "counters.hpp"
#include "stack_drops.hpp"

namespace tempos::mom {

struct MetricsSnapshot {
    const MomCounters* counters = nullptr;
    std::map<std::uint8_t, TopicConfig> topics;  // configured topics: always listed, even at zero
    std::size_t sq_depth = 0, sq_capacity = 0;
    std::size_t sq_bytes = 0, sq_capacity_bytes = 0;
    std::size_t bq_depth = 0, bq_capacity = 0;
    std::size_t bq_bytes = 0, bq_capacity_bytes = 0;
    std::vector<NamedAdapterStats> adapters;
    bool ingress_isolated = false;
    std::array<std::uint64_t, 2> ingress_socket_drops{};  // [sq, bq]
    std::string interface;  // [mom] interface ("" = none)
    StackDrops stack;
};

std::string render_metrics(const MetricsSnapshot& snapshot);

}  // namespace tempos::mom
