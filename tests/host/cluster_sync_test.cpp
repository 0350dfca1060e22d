// ClusterSync without etcd: the rules of cluster and file topics, against a stand-in for Mom::update that holds
// the running config (and can refuse a topic, as an adapter would).
#include <gtest/gtest.h>

#include <algorithm>

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

// A ClusterSync on a stand-in MoM.
struct SyncedMom {
    SyncedMom() {
        TopicConfig file_topic;
        file_topic.id = 1;
        file_topic.qos = Qos::best_effort;
        file_topic.groups.push_back(SubscriptionGroup{{Endpoint{{10, 0, 0, 9}, 9000, std::nullopt}}});
        running.topics[1] = file_topic;
        running.topic_locations[1] = "mom.toml:7";
    }

    // Mom::update's contract: edit a copy, "apply" it but for the topic the adapter refuses (which keeps its running
    // value), then on_applied with the refusals. Counts the changes, as each is one call into the adapters.
    Updater updater() {
        return [this](const std::function<Status(mom::MomConfig&)>& edit,
                      const std::function<void(const mom::TopicRefusals&)>& on_applied) {
            mom::MomConfig wanted = running;
            if (Status edited = edit(wanted); !edited) return edited;
            if (refuse_whole) {
                refuse_whole = !refuse_whole_once;
                return Status::error(ErrorCode::invalid_argument, "refused as a whole");
            }
            mom::TopicRefusals refused;
            for (const auto& [id, topic] : wanted.topics)
                if (refuse_topic && id == *refuse_topic && !(running.topics.contains(id) && running.topics[id] == topic))
                    refused.emplace(id, Status::error(ErrorCode::invalid_argument, wanted.where(id) + "refused by the adapter"));
            for (const auto& [id, why] : refused) {
                wanted.topics.erase(id);
                wanted.topic_locations.erase(id);
                if (running.topics.contains(id)) {
                    wanted.topics[id] = running.topics[id];
                    wanted.topic_locations[id] = running.topic_locations[id];
                }
            }
            if (!(wanted.topics == running.topics)) ++changes;
            running = wanted;
            if (on_applied) on_applied(refused);
            return refused.empty() ? Status::ok() : refused.begin()->second;
        };
    }

    int port_of(std::uint8_t id) { return running.topics.at(id).groups.at(0).members.at(0).port; }

    mom::MomConfig running;
    std::optional<std::uint8_t> refuse_topic;
    bool refuse_whole = false;  // as Mom::update does when a rule over the whole config fails
    bool refuse_whole_once = false;
    int changes = 0;
    ClusterCounters counters;
    ClusterSync sync{mom::ClusterConfig{{"http://127.0.0.1:2379"}, "/tempos", "n", "", {}}, 9998, updater(), counters,
                     std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>())};
};

class ClusterSyncTest : public ::testing::Test, public SyncedMom {};

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

namespace {

// A table of 40 cluster topics with members (some only through member keys), a bad value, a key for the file's
// topic 1, a member of that file topic and one waiting for a topic not defined.
std::vector<KeyValue> big_table(int generation) {
    std::vector<KeyValue> kvs;
    for (int t = 10; t < 50; ++t) {
        const std::string value = t == 17 ? std::string(R"({"qos": "fast"})") : topic_json(9000 + t + 100 * generation);
        kvs.push_back({"/tempos/topics/" + std::to_string(t), value, 10 + t, 0});
        for (int m = 0; m < (t + generation) % 4; ++m)
            kvs.push_back({"/tempos/members/" + std::to_string(t) + "/0/10.0.1." + std::to_string(m + 1) + ":9100", "",
                           100 + t, 0});
    }
    kvs.push_back({"/tempos/topics/1", topic_json(9001), 200, 0});
    kvs.push_back({"/tempos/members/1/0/10.0.0.3:9100", "", 201, 0});
    kvs.push_back({"/tempos/members/60/0/10.0.0.3:9100", "", 202, 0});
    return kvs;
}

}  // namespace

// A re-read is one change (one call into the adapters), and leaves the table exactly as the same keys applied one
// at a time by the watch would: every topic, its members and its origin, the same keys refused.
TEST(ClusterSyncResync, OneChangeLeavesTheTableAsTheKeysOneAtATimeWould) {
    for (int generation = 0; generation < 2; ++generation) {
        SyncedMom batch;
        SyncedMom watch;
        if (generation == 1) {
            // Both start from an earlier table, with topic 70 that the re-read no longer holds.
            for (SyncedMom* mom : {&batch, &watch}) {
                for (const KeyValue& kv : big_table(0)) mom->sync.apply(WatchBatch{kv.mod_revision, {{WatchEvent::Type::put, kv}}});
                mom->sync.apply(put("/tempos/topics/70", topic_json(9070), 300));
                mom->changes = 0;
                mom->counters.refused_keys.store(0);
            }
            watch.sync.apply(erase("/tempos/topics/70", 301));
        }
        const std::vector<KeyValue> table = big_table(generation);
        batch.sync.resync(RangeResult{400, table});
        for (const KeyValue& kv : table) watch.sync.apply(WatchBatch{kv.mod_revision, {{WatchEvent::Type::put, kv}}});
        if (generation == 1) {
            // The members the re-read no longer holds leave, as their deletes would.
            for (const KeyValue& kv : big_table(0))
                if (kv.key.starts_with("/tempos/members/") &&
                    std::none_of(table.begin(), table.end(), [&](const KeyValue& now) { return now.key == kv.key; }))
                    watch.sync.apply(erase(kv.key, 402));
        }
        EXPECT_EQ(batch.changes, 1) << "generation " << generation;
        EXPECT_GT(watch.changes, 30) << "generation " << generation;
        EXPECT_EQ(batch.running.topics, watch.running.topics) << "generation " << generation;
        EXPECT_EQ(batch.running.topic_locations, watch.running.topic_locations) << "generation " << generation;
        EXPECT_EQ(batch.counters.refused_keys.load(), watch.counters.refused_keys.load()) << "generation " << generation;
        EXPECT_GE(batch.counters.refused_keys.load(), 3u);  // 17's value, 1's key, the member of 1
        EXPECT_FALSE(batch.running.topics.contains(70));
        mom::MomConfig batch_loaded, watch_loaded;
        batch.sync.overlay(batch_loaded);
        watch.sync.overlay(watch_loaded);
        EXPECT_EQ(batch_loaded.topics, watch_loaded.topics) << "generation " << generation;
    }
}

// An adapter's refusal of one topic in a re-read refuses that topic alone: it keeps its running value (and a
// reload brings back that value, not the refused one); the others take effect in the same change.
TEST_F(ClusterSyncTest, AnAdapterRefusalInAResyncRefusesThatTopicAlone) {
    sync.apply(put("/tempos/topics/5", topic_json(9005), 2));
    sync.apply(put("/tempos/topics/6", topic_json(9006), 3));
    refuse_topic = 6;
    changes = 0;
    sync.resync(RangeResult{9, {{"/tempos/topics/5", topic_json(9015), 7, 0},
                                {"/tempos/topics/6", topic_json(9016), 8, 0},
                                {"/tempos/topics/7", topic_json(9017), 9, 0}}});
    EXPECT_EQ(changes, 1);
    EXPECT_EQ(counters.refused_keys.load(), 1u);
    EXPECT_EQ(port_of(5), 9015);
    EXPECT_EQ(port_of(6), 9006);
    EXPECT_EQ(port_of(7), 9017);
    mom::MomConfig loaded;
    sync.overlay(loaded);
    EXPECT_EQ(loaded.topics.at(6).groups[0].members[0].port, 9006);
    EXPECT_EQ(loaded.topics.at(5).groups[0].members[0].port, 9015);
}

// A re-read refused as a whole (Mom::update's rules over the whole config, e.g. a subscriber that is the MoM
// itself) is applied one key at a time, so that only the culprit's change is refused.
TEST_F(ClusterSyncTest, AResyncRefusedAsAWholeIsAppliedOneKeyAtATime) {
    refuse_whole = true;
    refuse_whole_once = true;
    sync.resync(RangeResult{9, {{"/tempos/topics/5", topic_json(9005), 7, 0}, {"/tempos/topics/7", topic_json(9007), 9, 0}}});
    EXPECT_EQ(port_of(5), 9005);
    EXPECT_EQ(port_of(7), 9007);
    EXPECT_EQ(counters.refused_keys.load(), 0u);
}
