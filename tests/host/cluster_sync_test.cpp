// ClusterSync without etcd: the rules of cluster and file topics, against a stand-in for Mom::update that holds
// the running config (and can refuse a topic, as an adapter would).
#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "broker_registration.hpp"
#include "cluster_sync.hpp"
#include "cluster_topic.hpp"

using namespace tempos;
using namespace tempos::cluster;

namespace {

std::string topic_json(int port) {
    return R"({"qos": "strict", "subscribers": ["10.0.0.2:)" + std::to_string(port) + R"("]})";
}

class ClusterSyncTest : public ::testing::Test {
protected:
    ClusterSyncTest() {
        TopicConfig file_topic;
        file_topic.id = 1;
        file_topic.qos = Qos::best_effort;
        file_topic.groups.push_back(SubscriptionGroup{{Endpoint{{10, 0, 0, 9}, 9000, std::nullopt}}});
        running.topics[1] = file_topic;
        running.topic_locations[1] = "mom.toml:7";
    }

    // Mom::update's contract: edit a copy, "apply" it unless the adapter refuses, then on_applied.
    Updater updater() {
        return [this](const std::function<Status(mom::MomConfig&)>& edit, const std::function<void()>& on_applied) {
            mom::MomConfig wanted = running;
            if (Status edited = edit(wanted); !edited) return edited;
            for (const auto& [id, topic] : wanted.topics)
                if (refuse_topic && id == *refuse_topic && !(running.topics.contains(id) && running.topics[id] == topic))
                    return Status::error(ErrorCode::invalid_argument, wanted.where(id) + "refused by the adapter");
            running = wanted;
            if (on_applied) on_applied();
            return Status::ok();
        };
    }

    int port_of(std::uint8_t id) { return running.topics.at(id).groups.at(0).members.at(0).port; }

    mom::MomConfig running;
    std::optional<std::uint8_t> refuse_topic;
    ClusterCounters counters;
    ClusterSync sync{mom::ClusterConfig{{"http://127.0.0.1:2379"}, "/tempos", "n", "", {}}, 9998, updater(), counters,
                     std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

WatchBatch put(const std::string& key, const std::string& value, std::int64_t revision) {
    return WatchBatch{revision, {{WatchEvent::Type::put, {key, value, revision, 0}}}};
}
WatchBatch erase(const std::string& key, std::int64_t revision) {
    return WatchBatch{revision, {{WatchEvent::Type::erase, {key, "", revision, 0}}}};
}

TEST_F(ClusterSyncTest, ABadValueKeepsTheTopicsLastValueAndTouchesNoOther) {
    sync.apply(put("/tempos/topics/5", topic_json(9005), 2));
    sync.apply(put("/tempos/topics/6", topic_json(9006), 3));
    ASSERT_EQ(port_of(5), 9005);
    sync.apply(put("/tempos/topics/5", R"({"qos": "strict"})", 4));
    EXPECT_EQ(counters.refused_keys.load(), 1u);
    EXPECT_EQ(port_of(5), 9005);
    EXPECT_EQ(port_of(6), 9006);
    EXPECT_EQ(running.topic_locations.at(5), "/tempos/topics/5");
}

TEST_F(ClusterSyncTest, AnAdapterRefusalIsARefusedKey) {
    refuse_topic = 5;
    sync.apply(put("/tempos/topics/5", topic_json(9005), 2));
    EXPECT_EQ(counters.refused_keys.load(), 1u);
    EXPECT_FALSE(running.topics.contains(5));
    // Not accepted, so a reload does not bring it back.
    mom::MomConfig loaded = running;
    sync.overlay(loaded);
    EXPECT_FALSE(loaded.topics.contains(5));
}

TEST_F(ClusterSyncTest, TheFileWinsAndItsTopicIsNeverTouched) {
    sync.apply(put("/tempos/topics/1", topic_json(9001), 2));
    EXPECT_EQ(counters.refused_keys.load(), 1u);
    EXPECT_EQ(running.topics.at(1).qos, Qos::best_effort);
    EXPECT_EQ(running.topic_locations.at(1), "mom.toml:7");
    // Deleting the key leaves the file's topic.
    sync.apply(erase("/tempos/topics/1", 3));
    EXPECT_TRUE(running.topics.contains(1));
}

TEST_F(ClusterSyncTest, AReloadKeepsClusterTopicsAndTakesAKeyTheFileNoLongerOverrides) {
    sync.apply(put("/tempos/topics/5", topic_json(9005), 2));
    sync.apply(put("/tempos/topics/1", topic_json(9001), 3));  // refused: the file has 1
    // The file read again, still with topic 1: 5 is added back, 1 refused again.
    mom::MomConfig with_one;
    with_one.topics[1] = running.topics.at(1);
    with_one.topic_locations[1] = "mom.toml:7";
    sync.overlay(with_one);
    EXPECT_EQ(with_one.topics.at(5).groups[0].members[0].port, 9005);
    EXPECT_EQ(with_one.topics.at(1).qos, Qos::best_effort);
    EXPECT_EQ(counters.refused_keys.load(), 2u);
    // The file without topic 1: the cluster's value takes its place.
    mom::MomConfig without_one;
    sync.overlay(without_one);
    ASSERT_TRUE(without_one.topics.contains(1));
    EXPECT_EQ(without_one.topics.at(1).qos, Qos::strict);
    EXPECT_EQ(without_one.topic_locations.at(1), "/tempos/topics/1");
}

TEST_F(ClusterSyncTest, AResyncRemovesWhatTheClusterNoLongerHolds) {
    sync.apply(put("/tempos/topics/5", topic_json(9005), 2));
    sync.apply(put("/tempos/topics/6", topic_json(9006), 3));
    RangeResult range{9, {{"/tempos/topics/6", topic_json(9016), 8, 0}, {"/tempos/topics/7", topic_json(9007), 9, 0}}};
    sync.resync(range);
    EXPECT_FALSE(running.topics.contains(5));
    EXPECT_EQ(port_of(6), 9016);
    EXPECT_EQ(port_of(7), 9007);
    EXPECT_TRUE(running.topics.contains(1));  // the file's
    mom::MomConfig loaded;
    sync.overlay(loaded);
    EXPECT_FALSE(loaded.topics.contains(5));
}

TEST_F(ClusterSyncTest, KeysThatAreNotTopicIdsAreRefused) {
    sync.apply(put("/tempos/topics/x", topic_json(9005), 2));
    sync.apply(put("/tempos/topics/256", topic_json(9005), 3));
    EXPECT_EQ(counters.refused_keys.load(), 2u);
    sync.apply(erase("/tempos/topics/x", 4));  // nothing ran from it: nothing to do, nothing counted
    EXPECT_EQ(counters.refused_keys.load(), 2u);
}

std::vector<std::uint16_t> ports(const TopicConfig& topic, std::size_t group) {
    std::vector<std::uint16_t> out;
    for (const Endpoint& e : topic.groups.at(group).members) out.push_back(e.port);
    return out;
}

TEST_F(ClusterSyncTest, MembersJoinTheirGroupWhileTheirKeyLives) {
    // A member before its topic waits for it.
    sync.apply(put("/tempos/members/5/0/10.0.0.3:9100", "", 2));
    EXPECT_FALSE(running.topics.contains(5));
    sync.apply(put("/tempos/topics/5", topic_json(9005), 3));
    EXPECT_EQ(ports(running.topics.at(5), 0), (std::vector<std::uint16_t>{9005, 9100}));
    sync.apply(put("/tempos/members/5/0/10.0.0.4:9101", R"({"mac": "02:00:00:00:00:04"})", 4));
    EXPECT_EQ(ports(running.topics.at(5), 0), (std::vector<std::uint16_t>{9005, 9100, 9101}));
    EXPECT_TRUE(running.topics.at(5).groups[0].members[2].mac);
    // A member of a group the topic does not have is left out; the static one is not added twice.
    sync.apply(put("/tempos/members/5/3/10.0.0.5:9102", "", 5));
    sync.apply(put("/tempos/members/5/0/10.0.0.2:9005", "", 6));
    EXPECT_EQ(running.topics.at(5).groups.size(), 1u);
    EXPECT_EQ(ports(running.topics.at(5), 0), (std::vector<std::uint16_t>{9005, 9100, 9101}));
    // The key goes (its lease expired): so does the member. A change of the topic's value keeps the members (the
    // registered 10.0.0.2:9005, hidden by the static one until now, shows).
    sync.apply(erase("/tempos/members/5/0/10.0.0.3:9100", 7));
    EXPECT_EQ(ports(running.topics.at(5), 0), (std::vector<std::uint16_t>{9005, 9101}));
    sync.apply(put("/tempos/topics/5", topic_json(9015), 8));
    EXPECT_EQ(ports(running.topics.at(5), 0), (std::vector<std::uint16_t>{9015, 9005, 9101}));
    // A reload keeps them too.
    mom::MomConfig loaded;
    sync.overlay(loaded);
    EXPECT_EQ(ports(loaded.topics.at(5), 0), (std::vector<std::uint16_t>{9015, 9005, 9101}));
    EXPECT_EQ(counters.refused_keys.load(), 0u);
}

TEST_F(ClusterSyncTest, BadMembersAndMembersOfFileTopicsAreRefused) {
    sync.apply(put("/tempos/members/1/0/10.0.0.3:9100", "", 2));  // topic 1 is the file's
    EXPECT_EQ(counters.refused_keys.load(), 1u);
    EXPECT_EQ(running.topics.at(1).groups[0].members.size(), 1u);
    for (const char* key : {"/tempos/members/5/0/10.0.0.3", "/tempos/members/5/10.0.0.3:9100",
                            "/tempos/members/300/0/10.0.0.3:9100", "/tempos/members/5/0/0.0.0.0:9100"})
        sync.apply(put(key, "", 3));
    sync.apply(put("/tempos/members/5/0/10.0.0.3:9100", R"({"mac": "zz"})", 4));
    sync.apply(put("/tempos/members/5/0/10.0.0.3:9100", R"({"port": 1})", 5));
    EXPECT_EQ(counters.refused_keys.load(), 7u);
}

TEST_F(ClusterSyncTest, AResyncReadsTheMembersAgain) {
    sync.apply(put("/tempos/topics/5", topic_json(9005), 2));
    sync.apply(put("/tempos/members/5/0/10.0.0.3:9100", "", 3));
    RangeResult range{9, {{"/tempos/members/5/0/10.0.0.4:9101", "", 8, 0}, {"/tempos/topics/5", topic_json(9005), 2, 0}}};
    sync.resync(range);
    EXPECT_EQ(ports(running.topics.at(5), 0), (std::vector<std::uint16_t>{9005, 9101}));
}

// The broker key says what the XDP adapter was granted (AdapterStats::mode), not only what was asked for: auto on
// a veth whose peer runs no XDP program attaches in generic mode.
TEST(BrokerInfoTest, ReportsTheGrantedXdpModeBesideTheConfiguredOne) {
    mom::MomConfig config;
    config.interface = "eth0";
    config.adapters.push_back(mom::AdapterConfig{"xdp", "libxdp_adapter.so", true, {{"xdp_mode", "auto"}}});
    config.adapters.push_back(mom::AdapterConfig{"spare", "libother.so", false, {{"xdp_mode", "native"}}});
    const mom::SocketAddress bound{{10, 0, 0, 2}, 9998};
    AdapterStats granted;
    granted.mode = "generic";
    const BrokerInfo info = broker_info(config, bound, {{"xdp", granted}});
    EXPECT_EQ(info.listen, "10.0.0.2:9998");
    EXPECT_EQ(info.interface, "eth0");
    EXPECT_EQ(info.xdp_mode, "generic");
    EXPECT_EQ(info.xdp_mode_configured, "auto");
    EXPECT_EQ(broker_value(info, 42),
              R"({"interface":"eth0","listen":"10.0.0.2:9998","revision":42,"xdp_mode":"generic",)"
              R"("xdp_mode_configured":"auto"})");
    // An adapter that is not running attached nothing.
    EXPECT_EQ(broker_info(config, bound, {}).xdp_mode, "off");
    // No adapter with an xdp_mode option: no mode at all.
    config.adapters.clear();
    EXPECT_EQ(broker_info(config, bound, {{"xdp", granted}}).xdp_mode, "");
}

}  // namespace
