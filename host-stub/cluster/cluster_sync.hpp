// The cluster's topics brought into the running MoM (docs/cluster.md): each key <prefix>/topics/N put or deleted
// in etcd becomes one change applied through Mom::update, the same atomic per-topic path as a SIGHUP reload.
//
// How cluster and file topics combine: a topic id is the file's or the cluster's, never both. The file wins: a
// cluster key for a topic the file defines ([[topics]] or the routes file) is refused, logged and counted, and
// kept aside, so that it takes effect if a later reload drops the file's topic. A running topic belongs to the
// cluster when its location (MomConfig::topic_locations) is its key.
//
// Members (<prefix>/members/N/G/IP:PORT) join group G of cluster topic N while their key lives; a member of a file
// topic is refused (the file wins), one of a topic or group not (yet) defined waits for it.
//
// A refused value (bad key, bad JSON, a value the [[topics]] rules refuse, an adapter's refusal) is refused for
// that topic only: its last applied value, if any, stays in force, and the other topics are not touched.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <spdlog/logger.h>

#include "cluster_counters.hpp"
#include "cluster_topic.hpp"
#include "config.hpp"
#include "topic_diff.hpp"
#include "etcd_client.hpp"

namespace tempos::cluster {

// Mom::update's shape: what the sync changes (the MoM; a fake in tests). Each topic the edit changes stands
// alone: those an adapter refused are passed to on_applied and keep their running value.
using Updater = std::function<Status(const std::function<Status(mom::MomConfig&)>& edit,
                                     const std::function<void(const mom::TopicRefusals& refused)>& on_applied)>;

class ClusterSync {
public:
    ClusterSync(mom::ClusterConfig cluster, std::uint16_t default_port, Updater updater, ClusterCounters& counters,
                std::shared_ptr<spdlog::logger> log);

    // The keys watched, [begin, end): "<prefix>/members/" up to the end of "<prefix>/topics/" (one range for both,
    // which leaves out "<prefix>/brokers/": a broker's registration must not wake every MoM).
    std::string watched_begin() const;
    std::string watched_end() const;

    // A full read of the watched prefix: every key applied, and the cluster's running topics that are no longer
    // there removed, all in one change (one call into the adapters); each topic still stands alone: a value
    // refused (bad, the file's, an adapter's refusal) is refused for its topic only.
    void resync(const RangeResult& range);
    // The events of one watch response, in order.
    void apply(const WatchBatch& batch);

    // Mom's reload overlay: adds the cluster's topics to a config just read from the file, refusing those the file
    // defines itself.
    void overlay(mom::MomConfig& loaded);

private:
    // resync() one key at a time, as the watch applies them: when a rule over the whole table (a subscriber that is
    // the MoM itself) refused the single change, so that only the culprit is refused.
    void resync_each(const RangeResult& range, const std::set<std::uint8_t>& present,
                     const std::set<std::uint8_t>& touched);
    void put(const KeyValue& kv);
    void erase(const std::string& key);
    void put_member(const KeyValue& kv);
    void erase_member(const std::string& key);
    // Applies topic `id` again with the members now known, when it is the cluster's.
    void reapply(std::uint8_t id, const std::string& why);
    // accepted_'s topic with its members (mutex_ held).
    TopicConfig effective(std::uint8_t id) const;
    std::vector<MemberKey> members_of(std::uint8_t id) const;
    void refuse(const Status& why);
    bool owned(const mom::MomConfig& config, std::uint8_t id) const;

    mom::ClusterConfig cluster_;
    std::uint16_t default_port_;
    Updater updater_;
    ClusterCounters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    // The last accepted value of each topic key: what a reload keeps. Taken inside the Mom's change lock (edit,
    // on_applied, overlay), so always in that order.
    std::mutex mutex_;
    std::map<std::uint8_t, std::pair<std::string, TopicConfig>> accepted_;
    std::map<std::string, MemberKey> members_;  // by key
};

}  // namespace tempos::cluster
