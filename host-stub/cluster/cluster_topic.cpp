#include "cluster_topic.hpp"

#include <limits>

#include <nlohmann/json.hpp>

#include "config_toml.hpp"
#include "etcd_client.hpp"
#include "config_topics.hpp"

namespace tempos::cluster {

namespace {

using mom::config_detail::ConfigFailure;

// The JSON value as the TOML value a [[topics]] table would hold. Every JSON type has a TOML counterpart but
// null, which becomes an empty value ("nothing" in the messages). Integers beyond int64 saturate, as toml11
// does for TOML literals, so they land outside every range check.
toml::value to_toml(const nlohmann::json& json) {
    switch (json.type()) {
        case nlohmann::json::value_t::object: {
            toml::value table(toml::table{});
            for (const auto& [key, value] : json.items()) table.as_table().emplace(key, to_toml(value));
            return table;
        }
        case nlohmann::json::value_t::array: {
            toml::value array(toml::array{});
            for (const auto& value : json) array.as_array().push_back(to_toml(value));
            return array;
        }
        case nlohmann::json::value_t::string: return toml::value(json.get<std::string>());
        case nlohmann::json::value_t::boolean: return toml::value(json.get<bool>());
        case nlohmann::json::value_t::number_integer: return toml::value(json.get<std::int64_t>());
        case nlohmann::json::value_t::number_unsigned: {
            const auto number = json.get<std::uint64_t>();
            constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
            return toml::value(static_cast<std::int64_t>(number > max ? max : number));
        }
        case nlohmann::json::value_t::number_float: return toml::value(json.get<double>());
        default: return toml::value();
    }
}

Status refused(const std::string& key, const std::string& why) {
    return Status::error(ErrorCode::invalid_argument, key + ": " + why);
}

}  // namespace

std::string topics_prefix(const std::string& prefix) { return prefix + "/topics/"; }

std::string topic_key(const std::string& prefix, std::uint8_t id) { return topics_prefix(prefix) + std::to_string(id); }

Result<std::uint8_t> topic_id_of_key(const std::string& prefix, const std::string& key) {
    const std::string start = topics_prefix(prefix);
    const std::string_view rest = std::string_view(key).substr(key.starts_with(start) ? start.size() : key.size());
    bool valid = key.starts_with(start) && !rest.empty() && rest.size() <= 3 && (rest.size() == 1 || rest[0] != '0');
    unsigned id = 0;
    for (char c : rest) {
        valid = valid && c >= '0' && c <= '9';
        id = id * 10 + static_cast<unsigned>(c - '0');
    }
    if (!valid || id > 255) return refused(key, "not a topic key: expected " + start + "N with N a topic id 0..255");
    return static_cast<std::uint8_t>(id);
}

std::string members_prefix(const std::string& prefix) { return prefix + "/members/"; }

std::string member_key(const std::string& prefix, std::uint8_t topic, std::size_t group, const std::string& endpoint) {
    return members_prefix(prefix) + std::to_string(topic) + "/" + std::to_string(group) + "/" + endpoint;
}

std::string watched_begin(const std::string& prefix) { return members_prefix(prefix); }

std::string watched_end(const std::string& prefix) { return prefix_range_end(topics_prefix(prefix)); }

Result<MemberKey> parse_member(const std::string& prefix, const std::string& key, std::string_view value) {
    const std::string start = members_prefix(prefix);
    const std::string expected = "expected " + start + "N/G/IP:PORT (N a topic id 0..255, G a group 0..255)";
    if (!key.starts_with(start)) return refused(key, "not a member key: " + expected);
    const std::string rest = key.substr(start.size());
    const auto first = rest.find('/');
    const auto second = first == std::string::npos ? first : rest.find('/', first + 1);
    if (second == std::string::npos) return refused(key, "not a member key: " + expected);
    // The topic and group parts are read as a topic key's id is.
    const auto topic = topic_id_of_key(prefix, topics_prefix(prefix) + rest.substr(0, first));
    const auto group = topic_id_of_key(prefix, topics_prefix(prefix) + rest.substr(first + 1, second - first - 1));
    if (!topic || !group) return refused(key, "not a member key: " + expected);
    const std::string address = rest.substr(second + 1);
    const auto endpoint = mom::parse_socket_address(address);
    if (!endpoint)
        return refused(key, "member " + mom::config_detail::quote_text(address) +
                                " is not \"IP:PORT\" or \"[IPv6]:PORT\"");
    MemberKey member{*topic, *group, Endpoint{endpoint->ip, endpoint->port, std::nullopt, endpoint->ip6}};
    if (const auto why = mom::invalid_subscriber_address(member.endpoint)) return refused(key, *why);
    if (value.empty()) return member;
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(value);
    } catch (const nlohmann::json::exception& error) {
        return refused(key, std::string("not JSON: ") + error.what());
    }
    if (!json.is_object()) return refused(key, "a member's value must be empty or {\"mac\": \"...\"}, got " + json.dump());
    for (const auto& [name, field] : json.items()) {
        if (name != "mac") return refused(key, "unknown key " + mom::config_detail::quote_text(name) + " in a member (expected: mac)");
        const auto mac = field.is_string() ? mom::parse_mac(field.get<std::string>()) : std::nullopt;
        if (!mac) return refused(key, "member mac: invalid MAC address " + field.dump() +
                                          " (expected 6 hex groups of 1 or 2 digits separated by ':', such as "
                                          "40:a6:b7:66:38:fb)");
        member.endpoint.mac = *mac;
    }
    return member;
}

TopicConfig with_members(TopicConfig topic, const std::vector<MemberKey>& members) {
    for (const MemberKey& member : members) {
        if (member.topic != topic.id || member.group >= topic.groups.size()) continue;
        auto& group = topic.groups[member.group].members;
        bool present = false;
        for (const Endpoint& e : group) present = present || (e.ip == member.endpoint.ip && e.port == member.endpoint.port);
        if (!present) group.push_back(member.endpoint);
    }
    return topic;
}

Result<TopicConfig> parse_topic_value(const std::string& key, std::uint8_t id, std::string_view value,
                                      std::uint16_t default_port) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(value);
    } catch (const nlohmann::json::exception& error) {
        return refused(key, std::string("not JSON: ") + error.what());
    }
    if (!json.is_object()) return refused(key, "a topic must be a JSON object such as {\"qos\": \"strict\", "
                                               "\"subscribers\": [\"10.0.0.2:9000\"]}, got " + json.dump());
    // The id is the key's; written in the value too, it must agree.
    if (!json.contains("id")) json["id"] = id;
    try {
        toml::value table = to_toml(json);
        TopicConfig topic = mom::config_detail::read_controller_topic(table, default_port).topic;
        if (topic.id != id)
            return refused(key, "the value's id " + std::to_string(topic.id) + " is not the key's " + std::to_string(id));
        return topic;
    } catch (const ConfigFailure& failure) {
        return refused(key, failure.message);
    } catch (const std::exception& error) {
        return refused(key, error.what());
    }
}

}  // namespace tempos::cluster
