#include "cluster_sync.hpp"

#include "cluster_topic.hpp"

namespace tempos::cluster {

namespace {

Status file_topic_conflict(const std::string& key, std::uint8_t id, const std::string& location) {
    return Status::error(ErrorCode::invalid_argument, key + ": topic " + std::to_string(id) +
                                                          " is defined by the file at " + location +
                                                          "; the file's topic stays in force");
}

}  // namespace

ClusterSync::ClusterSync(mom::ClusterConfig cluster, std::uint16_t default_port, Updater updater,
                         ClusterCounters& counters, std::shared_ptr<spdlog::logger> log)
    : cluster_(std::move(cluster)),
      default_port_(default_port),
      updater_(std::move(updater)),
      counters_(counters),
      log_(std::move(log)) {}

std::string ClusterSync::watched_prefix() const { return topics_prefix(cluster_.prefix); }

bool ClusterSync::owned(const mom::MomConfig& config, std::uint8_t id) const {
    const auto it = config.topic_locations.find(id);
    return it != config.topic_locations.end() && it->second == topic_key(cluster_.prefix, id);
}

// Every refusal's message starts with the key (the validation's, the adapters' through MomConfig::where).
void ClusterSync::refuse(const Status& why) {
    counters_.refused_keys.fetch_add(1);
    log_->error("cluster key refused: {}", describe(why));
}

void ClusterSync::resync(const RangeResult& range) {
    std::set<std::uint8_t> present;
    for (const KeyValue& kv : range.kvs) {
        if (const auto id = topic_id_of_key(cluster_.prefix, kv.key)) present.insert(*id);
        put(kv);
    }
    // What the cluster no longer holds: one removal at a time, like deletes seen by the watch.
    std::set<std::uint8_t> gone;
    (void)updater_(
        [&](mom::MomConfig& wanted) {
            for (const auto& [id, location] : wanted.topic_locations)
                if (owned(wanted, id) && !present.contains(id)) gone.insert(id);
            std::lock_guard lock(mutex_);
            for (const auto& [id, entry] : accepted_)
                if (!present.contains(id)) gone.insert(id);
            return Status::ok();  // no change: only looked
        },
        {});
    for (const std::uint8_t id : gone) erase(topic_key(cluster_.prefix, id));
}

void ClusterSync::apply(const WatchBatch& batch) {
    for (const WatchEvent& event : batch.events) {
        if (event.type == WatchEvent::Type::put)
            put(event.kv);
        else
            erase(event.kv.key);
    }
}

void ClusterSync::put(const KeyValue& kv) {
    const Result<std::uint8_t> id = topic_id_of_key(cluster_.prefix, kv.key);
    if (!id) return refuse(id.status());
    const Result<TopicConfig> topic = parse_topic_value(kv.key, *id, kv.value, default_port_);
    if (!topic) return refuse(topic.status());
    bool changed = false;
    const Status applied = updater_(
        [&](mom::MomConfig& wanted) {
            if (wanted.topics.contains(*id) && !owned(wanted, *id)) {
                // Kept aside: it applies once a reload drops the file's topic.
                std::lock_guard lock(mutex_);
                accepted_[*id] = {kv.key, *topic};
                return file_topic_conflict(kv.key, *id, wanted.topic_locations[*id]);
            }
            const auto running = wanted.topics.find(*id);
            changed = running == wanted.topics.end() || !(running->second == *topic);
            wanted.topics[*id] = *topic;
            wanted.topic_locations[*id] = kv.key;
            wanted.member_locations.erase(*id);
            return Status::ok();
        },
        [&] {
            std::lock_guard lock(mutex_);
            accepted_[*id] = {kv.key, *topic};
        });
    if (!applied) return refuse(applied);
    // A re-read finds most topics as they were: nothing applied, nothing to say.
    if (changed) log_->info("cluster topic {} applied from {} (revision {})", *id, kv.key, kv.mod_revision);
}

void ClusterSync::erase(const std::string& key) {
    const Result<std::uint8_t> id = topic_id_of_key(cluster_.prefix, key);
    if (!id) return;  // refused when it was written; nothing runs from it
    bool removed = false;
    const Status applied = updater_(
        [&](mom::MomConfig& wanted) {
            {
                std::lock_guard lock(mutex_);
                accepted_.erase(*id);
            }
            if (!owned(wanted, *id)) return Status::ok();  // a file topic, or never applied
            wanted.topics.erase(*id);
            wanted.topic_locations.erase(*id);
            wanted.member_locations.erase(*id);
            removed = true;
            return Status::ok();
        },
        {});
    if (!applied) return refuse(applied);
    if (removed) log_->info("cluster topic {} removed ({} deleted)", *id, key);
}

void ClusterSync::overlay(mom::MomConfig& loaded) {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : accepted_) {
        const auto& [key, topic] = entry;
        if (loaded.topics.contains(id)) {
            refuse(file_topic_conflict(key, id, loaded.topic_locations[id]));
            continue;
        }
        loaded.topics[id] = topic;
        loaded.topic_locations[id] = key;
    }
}

}  // namespace tempos::cluster
