#include "topic_diff.hpp"

namespace tempos::mom {

TopicDiff diff_topics(const std::map<std::uint8_t, TopicConfig>& running,
                      const std::map<std::uint8_t, TopicConfig>& wanted) {
    TopicDiff diff;
    for (const auto& [id, topic] : wanted) {
        const auto it = running.find(id);
        if (it == running.end())
            diff.added.push_back(topic);
        else if (!(it->second == topic))
            diff.changed.push_back(topic);
    }
    for (const auto& [id, topic] : running)
        if (!wanted.count(id)) diff.removed.push_back(id);
    return diff;
}

}  // namespace tempos::mom
