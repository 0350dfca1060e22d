// The thesis's routes file (its Listing 4.5), accepted unchanged:
//   [[topic]]
//   topic_value = 1
//     [[topic.address]]
//     ip = "10.0.0.211"
//     mac = "40:a6:b7:66:38:fb"
// Unused slots are padding (ip 0.0.0.0, mac 0:0:0:0:0:0) and skipped. Every topic is strict with one group.
#include "config_toml.hpp"
#include "config_topics.hpp"

namespace tempos::mom::config_detail {

namespace {

constexpr Ipv4 kPaddingAddress{0, 0, 0, 0};
constexpr Mac kPaddingMac{0, 0, 0, 0, 0, 0};

LocatedTopic read_thesis_topic(const toml::value& table, std::uint16_t mom_port) {
    reject_unknown_keys(table, {"topic_value", "address"}, "[[topic]]");
    const toml::value& id_value = require(table, "topic_value", "[[topic]]");
    LocatedTopic located;
    TopicConfig& topic = located.topic;
    topic.id = static_cast<std::uint8_t>(as_integer(id_value, "topic_value", 0, 255));
    topic.qos = Qos::strict;
    located.file = file_of(id_value);
    located.line = line_of(id_value);
    const std::string label = "topic " + std::to_string(topic.id);

    SubscriptionGroup group;
    std::vector<std::string>& locations = located.members.emplace_back();
    for (const toml::value& address : as_array_of_tables(require(table, "address", label), "topic.address")) {
        reject_unknown_keys(address, {"ip", "mac"}, "[[topic.address]]");
        const toml::value& ip_value = require(address, "ip", "[[topic.address]]");
        Endpoint endpoint{as_ipv4(ip_value, label + " address ip"), mom_port, std::nullopt};
        const toml::value* mac_value = find(address, "mac");
        if (mac_value) endpoint.mac = as_mac(*mac_value, label + " address mac");
        if (endpoint.ip == kPaddingAddress) continue;
        if (endpoint.mac == kPaddingMac)
            fail(*mac_value, label + ": mac 0:0:0:0:0:0 is only valid in a padding entry (ip 0.0.0.0)");
        for (const Endpoint& member : group.members)
            if (member.ip == endpoint.ip)
                fail(ip_value, label + ": duplicate address " + format_ipv4(endpoint.ip));
        group.members.push_back(std::move(endpoint));
        locations.push_back(file_of(ip_value) + ":" + std::to_string(line_of(ip_value)));
    }
    if (group.members.empty())
        fail(table, label + " has only padding entries (ip 0.0.0.0): it needs at least one subscriber");
    topic.groups.push_back(std::move(group));
    return located;
}

}  // namespace

void read_thesis_topics(const toml::value& topics, std::uint16_t mom_port, TopicRegistry& registry) {
    for (const toml::value& table : as_array_of_tables(topics, "topic"))
        registry.add(read_thesis_topic(table, mom_port), require(table, "topic_value", "[[topic]]"));
}

void read_routes_file(const toml::value& root, const std::string& file_name, std::uint16_t mom_port,
                      TopicRegistry& registry) {
    reject_unknown_keys(root, {"topic"}, "the routes file's top level");
    const toml::value* topics = find(root, "topic");
    if (!topics) fail(file_name, 0, "the routes file defines no [[topic]]");
    read_thesis_topics(*topics, mom_port, registry);
}

}  // namespace tempos::mom::config_detail

namespace tempos::mom {

Result<std::vector<TopicConfig>> load_thesis_routes(const std::filesystem::path& file, std::uint16_t mom_port) {
    using namespace config_detail;
    if (mom_port == 0) return ConfigFailure{file.string(), 0, "the MoM's port must be 1..65535, got 0"}.status();
    try {
        TopicRegistry registry;
        read_routes_file(parse_file(file), file.string(), mom_port, registry);
        std::vector<TopicConfig> topics;
        for (const auto& [id, located] : registry.topics()) topics.push_back(located.topic);
        return topics;
    } catch (const ConfigFailure& failure) {
        return failure.status();
    } catch (const std::exception& error) {
        return ConfigFailure{file.string(), 0, error.what()}.status();
    }
}

}  // namespace tempos::mom
