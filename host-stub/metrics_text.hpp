// Renders the MoM's counters in the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "adapter_set.hpp"
#include "counters.hpp"

namespace tempos::mom {

struct MetricsSnapshot {
    const MomCounters* counters = nullptr;
    std::map<std::uint8_t, TopicConfig> topics;  // configured topics: always listed, even at zero
    std::size_t sq_depth = 0, sq_capacity = 0;
    std::size_t bq_depth = 0, bq_capacity = 0;
    std::vector<NamedAdapterStats> adapters;
};

std::string render_metrics(const MetricsSnapshot& snapshot);

}  // namespace tempos::mom
