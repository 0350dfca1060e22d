// Reading topic tables: the Controller's [[topics]] and the thesis's [[topic]] (routes file). Internal to the
// config reader; errors are thrown as ConfigFailure (see config_toml.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <toml.hpp>

#include "config.hpp"

namespace tempos::mom::config_detail {

// A topic and where its id was written, so a duplicate can name both places.
struct LocatedTopic {
    TopicConfig topic;
    std::string file;
    int line = 0;
    MemberLocations members;  // "file:line" of each member, [group][member]
};

// Topic ids already defined, with where; rejects a second definition of any id.
class TopicRegistry {
public:
    void add(LocatedTopic topic, const toml::value& id_value);
    const std::map<std::uint8_t, LocatedTopic>& topics() const { return topics_; }

private:
    std::map<std::uint8_t, LocatedTopic> topics_;
};

// One [[topics]] table, or a cluster topic's JSON value made into TOML (cluster/cluster_topic.cpp): the one
// place that knows a topic's keys and rules.
LocatedTopic read_controller_topic(const toml::value& table, std::uint16_t default_port);

// The root's "topics" (array of tables). Endpoints without a port get default_port.
void read_controller_topics(const toml::value& root, std::uint16_t default_port, TopicRegistry& registry);

// The thesis format's [[topic]] tables (the array under the key "topic"); every topic strict, one group,
// port = mom_port.
void read_thesis_topics(const toml::value& topics, std::uint16_t mom_port, TopicRegistry& registry);

// A whole routes file (thesis format, nothing but [[topic]]) named file_name.
void read_routes_file(const toml::value& root, const std::string& file_name, std::uint16_t mom_port,
                      TopicRegistry& registry);

}  // namespace tempos::mom::config_detail
