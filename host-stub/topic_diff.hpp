// What a reload has to change: topics to (re)configure and topics to remove. Unchanged topics are absent,
// so adapters see only the difference.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "tempos/adapter.hpp"

namespace tempos::mom {

struct TopicDiff {
    std::vector<TopicConfig> added;
    std::vector<TopicConfig> changed;  // the new configuration
    std::vector<std::uint8_t> removed;
    bool empty() const { return added.empty() && changed.empty() && removed.empty(); }
};

// Topics a change could not apply, each with why (its location in front); each keeps its running value.
using TopicRefusals = std::map<std::uint8_t, Status>;

TopicDiff diff_topics(const std::map<std::uint8_t, TopicConfig>& running,
                      const std::map<std::uint8_t, TopicConfig>& wanted);

}  // namespace tempos::mom
