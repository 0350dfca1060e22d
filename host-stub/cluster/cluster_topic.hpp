// A cluster topic: the key <prefix>/topics/N and its JSON value, which has exactly the keys and rules of a
// [[topics]] table (docs/config.md) and is validated by the same code with the same messages, the key standing
// where the file:line would (docs/cluster.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// A member with a lease: the key <prefix>/members/N/G/IP:PORT (value "" or {"mac": "..."}) adds IP:PORT to group
// G (0-based, as the topic's groups are listed) of topic N while the key lives (docs/cluster.md).
struct MemberKey {
    std::uint8_t topic = 0;
    std::size_t group = 0;
    Endpoint endpoint;
};

std::string members_prefix(const std::string& prefix);

// The keys every MoM reads and watches, [begin, end): "<prefix>/members/" up to the end of "<prefix>/topics/" (one
// range, one revision, for both; "<prefix>/brokers/" lies outside it).
std::string watched_begin(const std::string& prefix);
std::string watched_end(const std::string& prefix);
std::string member_key(const std::string& prefix, std::uint8_t topic, std::size_t group, const std::string& endpoint);

// The member a key and its value describe; errors "KEY: why" (invalid_argument).
Result<MemberKey> parse_member(const std::string& prefix, const std::string& key, std::string_view value);

// `topic` with the members that name it added to their groups (once: an endpoint already in the group is not added
// again); members of a group the topic does not have are left out.
TopicConfig with_members(TopicConfig topic, const std::vector<MemberKey>& members);

}  // namespace tempos::cluster
