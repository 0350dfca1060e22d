// [[topics]] of the Controller TOML: id, QoS, subscription groups of endpoints.
#include "config_topics.hpp"

#include "config_toml.hpp"

namespace tempos::mom::config_detail {

namespace {

std::string topic_label(std::uint8_t id) { return "topic " + std::to_string(id); }

Endpoint read_endpoint_string(const toml::value& value, std::string_view what) {
    const SocketAddress address = as_socket_address(value, what);
    return Endpoint{address.ip, address.port, std::nullopt, address.ip6};
}

Endpoint read_endpoint_table(const toml::value& value, std::uint16_t default_port, std::string_view what) {
    reject_unknown_keys(value, {"ip", "port", "mac"}, "a subscriber table");
    Endpoint endpoint;
    const SocketAddress ip = as_ip_address(require(value, "ip", "a subscriber table"), std::string(what) + " ip");
    endpoint.ip = ip.ip;
    endpoint.ip6 = ip.ip6;
    const toml::value* port = find(value, "port");
    endpoint.port = port ? static_cast<std::uint16_t>(as_integer(*port, std::string(what) + " port", 1, 65535))
                         : default_port;
    if (const toml::value* mac = find(value, "mac")) endpoint.mac = as_mac(*mac, std::string(what) + " mac");
    return endpoint;
}

Endpoint read_endpoint(const toml::value& value, std::uint16_t default_port) {
    const std::string what = "subscriber";
    Endpoint endpoint;
    if (value.is_string())
        endpoint = read_endpoint_string(value, what);
    else if (value.is_table())
        endpoint = read_endpoint_table(value, default_port, what);
    else
        fail(value, "a subscriber must be a string \"IP:PORT\" or an inline table { ip = \"...\", port = N, "
                    "mac = \"...\" }, got " + type_noun(value) + " (IPv6: \"[2001:db8::5]:PORT\" or ip = \"2001:db8::5\")");
    if (const auto why = invalid_subscriber_address(endpoint)) fail(value, *why);
    return endpoint;
}

// One subscription group from its "subscribers" array.
SubscriptionGroup read_group(const toml::value& subscribers, std::uint16_t default_port,
                             std::vector<std::string>& locations) {
    const toml::array& entries = as_array(subscribers, "subscribers");
    if (entries.empty()) fail(subscribers, "empty subscription group: subscribers needs at least one endpoint");
    SubscriptionGroup group;
    for (const toml::value& entry : entries) {
        locations.push_back(file_of(entry) + ":" + std::to_string(line_of(entry)));
        Endpoint endpoint = read_endpoint(entry, default_port);
        for (const Endpoint& member : group.members)
            if (member.ip == endpoint.ip && member.ip6 == endpoint.ip6 && member.port == endpoint.port)
                fail(entry, "duplicate subscriber " + format_endpoint(endpoint) + " in one subscription group");
        group.members.push_back(std::move(endpoint));
    }
    return group;
}

Qos read_qos(const toml::value& value, std::uint8_t id) {
    const std::string& text = as_string(value, topic_label(id) + " qos");
    if (text == "strict") return Qos::strict;
    if (text == "best-effort") return Qos::best_effort;
    fail(value, topic_label(id) + " qos must be \"strict\" or \"best-effort\", got \"" + text + "\"");
}

}  // namespace

LocatedTopic read_controller_topic(const toml::value& table, std::uint16_t default_port) {
    reject_unknown_keys(table, {"id", "qos", "subscribers", "groups", "rate_limit", "burst"}, "[[topics]]");
    const toml::value& id_value = require(table, "id", "[[topics]]");
    LocatedTopic located;
    TopicConfig& topic = located.topic;
    topic.id = static_cast<std::uint8_t>(as_integer(id_value, "topic id", 0, 255));
    located.file = file_of(id_value);
    located.line = line_of(id_value);
    topic.qos = read_qos(require(table, "qos", topic_label(topic.id)), topic.id);
    topic.rate_limit = read_rate_limit(table, "rate_limit", "burst", topic_label(topic.id));

    const toml::value* subscribers = find(table, "subscribers");
    const toml::value* groups = find(table, "groups");
    if (subscribers && groups) {
        const toml::value& later = line_of(*groups) >= line_of(*subscribers) ? *groups : *subscribers;
        fail(later, topic_label(topic.id) +
                        ": give either subscribers = [...] (one group) or [[topics.groups]], not both");
    }
    if (!subscribers && !groups)
        fail(table, topic_label(topic.id) + " has no subscribers: give subscribers = [...] or [[topics.groups]]");
    if (subscribers) {
        topic.groups.push_back(read_group(*subscribers, default_port, located.members.emplace_back()));
    } else {
        const toml::array& entries = as_array_of_tables(*groups, "topics.groups");
        if (entries.empty()) fail(*groups, topic_label(topic.id) + ": groups must hold at least one group");
        for (const toml::value& entry : entries) {
            reject_unknown_keys(entry, {"subscribers"}, "[[topics.groups]]");
            topic.groups.push_back(read_group(require(entry, "subscribers", "[[topics.groups]]"), default_port,
                                              located.members.emplace_back()));
        }
    }
    return located;
}

void TopicRegistry::add(LocatedTopic topic, const toml::value& id_value) {
    const std::uint8_t id = topic.topic.id;
    if (const auto it = topics_.find(id); it != topics_.end())
        fail(id_value, "duplicate topic id " + std::to_string(id) + " (first defined at " + it->second.file + ":" +
                           std::to_string(it->second.line) + ")");
    topics_.emplace(id, std::move(topic));
}

void read_controller_topics(const toml::value& root, std::uint16_t default_port, TopicRegistry& registry) {
    const toml::value* topics = find(root, "topics");
    if (!topics) return;
    for (const toml::value& table : as_array_of_tables(*topics, "topics"))
        registry.add(read_controller_topic(table, default_port), require(table, "id", "[[topics]]"));
}

}  // namespace tempos::mom::config_detail
