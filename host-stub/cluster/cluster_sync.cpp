#include "cluster_sync.hpp"

#include "cluster_topic.hpp"

#include <optional>

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

std::string ClusterSync::watched_begin() const { return cluster::watched_begin(cluster_.prefix); }

std::string ClusterSync::watched_end() const { return cluster::watched_end(cluster_.prefix); }

std::vector<MemberKey> ClusterSync::members_of(std::uint8_t id) const {
    std::vector<MemberKey> members;
    for (const auto& [key, member] : members_)
        if (member.topic == id) members.push_back(member);
    return members;
}

TopicConfig ClusterSync::effective(std::uint8_t id) const {
    return with_members(accepted_.at(id).second, members_of(id));
}

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
    // The members first, all at once, so that each topic is applied once with its own.
    std::map<std::string, MemberKey> members;
    for (const KeyValue& kv : range.kvs) {
        if (!kv.key.starts_with(members_prefix(cluster_.prefix))) continue;
        if (const Result<MemberKey> member = parse_member(cluster_.prefix, kv.key, kv.value))
            members.emplace(kv.key, *member);
        else
            refuse(member.status());
    }
    std::set<std::uint8_t> touched;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, member] : members_) touched.insert(member.topic);
        for (const auto& [key, member] : members) touched.insert(member.topic);
        members_ = std::move(members);
    }
    // Every topic value read; a bad one is refused alone (its topic keeps its last accepted value).
    struct Read {
        std::string key;
        TopicConfig topic;
        std::int64_t revision = 0;
    };
    std::map<std::uint8_t, Read> read;
    std::set<std::uint8_t> present;
    for (const KeyValue& kv : range.kvs) {
        if (!kv.key.starts_with(topics_prefix(cluster_.prefix))) continue;
        const Result<std::uint8_t> id = topic_id_of_key(cluster_.prefix, kv.key);
        if (!id) {
            refuse(id.status());
            continue;
        }
        present.insert(*id);
        const Result<TopicConfig> topic = parse_topic_value(kv.key, *id, kv.value, default_port_);
        if (!topic) {
            refuse(topic.status());
            continue;
        }
        read[*id] = Read{kv.key, *topic, kv.mod_revision};
    }
    // One change for the whole table: the adapters get every changed topic in one call (a resync of 256 topics
    // costs the xdp adapter one RCU grace period, not 256), and each topic still stands alone.
    std::vector<Status> conflicts;  // keys of the file's topics, members of file topics
    std::set<std::uint8_t> changed;
    std::set<std::uint8_t> removed;
    mom::TopicRefusals refused;
    const Status applied = updater_(
        [&](mom::MomConfig& wanted) {
            conflicts.clear();
            changed.clear();
            removed.clear();
            std::lock_guard lock(mutex_);
            // What the cluster no longer holds.
            for (auto it = accepted_.begin(); it != accepted_.end();)
                it = present.contains(it->first) ? std::next(it) : accepted_.erase(it);
            for (const auto& [id, location] : wanted.topic_locations)
                if (owned(wanted, id) && !present.contains(id)) removed.insert(id);
            for (const std::uint8_t id : removed) {
                wanted.topics.erase(id);
                wanted.topic_locations.erase(id);
                wanted.member_locations.erase(id);
            }
            auto set = [&](std::uint8_t id, const TopicConfig& topic) {
                const auto running = wanted.topics.find(id);
                if (running == wanted.topics.end() || !(running->second == topic)) changed.insert(id);
                wanted.topics[id] = topic;
            };
            for (const auto& [id, entry] : read) {
                if (wanted.topics.contains(id) && !owned(wanted, id)) {
                    // Kept aside: it applies once a reload drops the file's topic.
                    accepted_[id] = {entry.key, entry.topic};
                    conflicts.push_back(file_topic_conflict(entry.key, id, wanted.topic_locations[id]));
                    continue;
                }
                set(id, with_members(entry.topic, members_of(id)));
                wanted.topic_locations[id] = entry.key;
                wanted.member_locations.erase(id);
            }
            for (const std::uint8_t id : touched) {
                // Applied above with its members, or waiting for its topic.
                if (!present.contains(id) || (read.contains(id) && owned(wanted, id))) continue;
                if (wanted.topics.contains(id) && !owned(wanted, id)) {
                    conflicts.push_back(Status::error(ErrorCode::invalid_argument,
                                                      "members re-read: topic " + std::to_string(id) +
                                                          " is defined by the file at " + wanted.topic_locations[id] +
                                                          "; members join cluster topics only"));
                    continue;
                }
                // A topic whose value was refused now: its last accepted value, with the members read now.
                if (accepted_.contains(id) && owned(wanted, id)) set(id, effective(id));
            }
            return Status::ok();
        },
        [&](const mom::TopicRefusals& refusals) {
            refused = refusals;
            std::lock_guard lock(mutex_);
            for (const auto& [id, entry] : read)
                if (!refused.contains(id)) accepted_[id] = {entry.key, entry.topic};
        });
    if (!applied && refused.empty()) {
        // A rule over the whole table refused the change: nothing was applied.
        log_->warn("cluster re-read refused as a whole ({}): applying its keys one at a time", describe(applied));
        return resync_each(range, present, touched);
    }
    for (const Status& why : conflicts) refuse(why);
    for (const auto& [id, why] : refused) {
        changed.erase(id);
        removed.erase(id);
        refuse(why);
    }
    for (const std::uint8_t id : changed)
        log_->info("cluster topic {} applied from {} (revision {})", id, topic_key(cluster_.prefix, id),
                   read.contains(id) ? read.at(id).revision : range.revision);
    for (const std::uint8_t id : removed) log_->info("cluster topic {} removed (not in the re-read)", id);
}

void ClusterSync::resync_each(const RangeResult& range, const std::set<std::uint8_t>& present,
                              const std::set<std::uint8_t>& touched) {
    for (const KeyValue& kv : range.kvs)
        if (kv.key.starts_with(topics_prefix(cluster_.prefix))) put(kv);
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
    // Topics whose members changed but whose value did not (put() applied the others).
    for (const std::uint8_t id : touched)
        if (present.contains(id)) reapply(id, "members re-read");
}

void ClusterSync::apply(const WatchBatch& batch) {
    for (const WatchEvent& event : batch.events) {
        const bool member = event.kv.key.starts_with(members_prefix(cluster_.prefix));
        const bool topic = event.kv.key.starts_with(topics_prefix(cluster_.prefix));
        if (!member && !topic) continue;  // between the two in the watched range: not ours
        if (event.type == WatchEvent::Type::put)
            member ? put_member(event.kv) : put(event.kv);
        else
            member ? erase_member(event.kv.key) : erase(event.kv.key);
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
            TopicConfig applied_topic;
            {
                std::lock_guard lock(mutex_);
                applied_topic = with_members(*topic, members_of(*id));
            }
            const auto running = wanted.topics.find(*id);
            changed = running == wanted.topics.end() || !(running->second == applied_topic);
            wanted.topics[*id] = applied_topic;
            wanted.topic_locations[*id] = kv.key;
            wanted.member_locations.erase(*id);
            return Status::ok();
        },
        [&](const mom::TopicRefusals& refused) {
            if (refused.contains(*id)) return;
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

void ClusterSync::put_member(const KeyValue& kv) {
    const Result<MemberKey> member = parse_member(cluster_.prefix, kv.key, kv.value);
    if (!member) return refuse(member.status());
    {
        std::lock_guard lock(mutex_);
        members_[kv.key] = *member;
    }
    reapply(member->topic, "member " + kv.key + " joined");
}

void ClusterSync::erase_member(const std::string& key) {
    std::optional<MemberKey> member;
    {
        std::lock_guard lock(mutex_);
        if (const auto it = members_.find(key); it != members_.end()) {
            member = it->second;
            members_.erase(it);
        }
    }
    if (member) reapply(member->topic, "member " + key + " left");
}

void ClusterSync::reapply(std::uint8_t id, const std::string& why) {
    bool changed = false;
    const Status applied = updater_(
        [&](mom::MomConfig& wanted) {
            std::lock_guard lock(mutex_);
            if (wanted.topics.contains(id) && !owned(wanted, id))
                return Status::error(ErrorCode::invalid_argument,
                                     why + ": topic " + std::to_string(id) + " is defined by the file at " +
                                         wanted.topic_locations[id] + "; members join cluster topics only");
            if (!accepted_.contains(id) || !owned(wanted, id)) return Status::ok();  // waits for its topic
            const TopicConfig topic = effective(id);
            changed = !(wanted.topics[id] == topic);
            wanted.topics[id] = topic;
            return Status::ok();
        },
        {});
    if (!applied) return refuse(applied);
    if (changed) log_->info("cluster topic {} applied again: {}", id, why);
}

void ClusterSync::overlay(mom::MomConfig& loaded) {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : accepted_) {
        const auto& [key, topic] = entry;
        if (loaded.topics.contains(id)) {
            refuse(file_topic_conflict(key, id, loaded.topic_locations[id]));
            continue;
        }
        loaded.topics[id] = with_members(topic, members_of(id));
        loaded.topic_locations[id] = key;
    }
}

}  // namespace tempos::cluster
