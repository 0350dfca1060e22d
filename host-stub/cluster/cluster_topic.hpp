// A cluster topic: the key <prefix>/topics/N and its JSON value, which has exactly the keys and rules of a
// [[topics]] table (docs/config.md) and is validated by the same code with the same messages, the key standing
// where the file:line would (docs/cluster.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tempos/adapter.hpp"
#include "tempos/status.hpp"

namespace tempos::cluster {

// "<prefix>/topics/" : where the topics live.
std::string topics_prefix(const std::string& prefix);
std::string topic_key(const std::string& prefix, std::uint8_t id);

// N of "<prefix>/topics/N" (decimal 0..255, no leading zero); an invalid_argument error naming the key otherwise.
Result<std::uint8_t> topic_id_of_key(const std::string& prefix, const std::string& key);

// The topic the JSON `value` of `key` describes; its "id" may be left out, and must be `id` when given. Endpoints
// without a port get `default_port` ([mom] listen's). Errors: "KEY: why" (invalid_argument).
Result<TopicConfig> parse_topic_value(const std::string& key, std::uint8_t id, std::string_view value,
                                      std::uint16_t default_port);

}  // namespace tempos::cluster
