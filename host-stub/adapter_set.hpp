// The enabled adapters of a running MoM. Control calls (configure_qos, remove_topic, stats, close) are
// serialised here, as the contract promises adapters; send() runs concurrently from the dispatchers.
// The set of adapters is fixed once opened: only topics change at run time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "config.hpp"
#include "logging.hpp"
#include "plugin_loader.hpp"

namespace tempos::mom {

struct NamedAdapterStats {
    std::string name;  // the [[adapters]] name
    AdapterStats stats;
};

class AdapterSet {
public:
    explicit AdapterSet(const LogContext& log);
    ~AdapterSet();
    AdapterSet(const AdapterSet&) = delete;
    AdapterSet& operator=(const AdapterSet&) = delete;

    // Loads and connects every enabled adapter of `config`, telling them the port actually bound. On failure
    // closes what was opened and returns why, at the file:line of the adapter's name.
    Status open(const MomConfig& config, std::uint16_t bound_port, const std::filesystem::path& plugin_dir,
                const AdapterEnv& env);
    // Configures `topic` on every adapter; the first failure is returned (naming the adapter). Errors keep the
    // code the adapter returned.
    Status configure_qos(const TopicConfig& topic);
    // configure_qos of many topics in one call to each adapter (Adapter::configure_topics): one Status per topic,
    // its first failure naming the adapter. A topic an adapter refused is not handed to the next adapters.
    std::vector<Status> configure_topics(std::span<const TopicConfig> topics);
    Status remove_topic(std::uint8_t topic);
    // remove_topic of many topics in one call to each adapter (Adapter::remove_topics): one Status per topic, its
    // first failure naming the adapter. A topic an adapter could not remove is not handed to the next adapters.
    std::vector<Status> remove_topics(std::span<const std::uint8_t> topics);
    // Removes, from each adapter, the topics it reports (stats) that `configured` does not name: state an adapter
    // resumed from an earlier run (the xdp adapter's persist, docs/restart.md) must not outlive the configuration.
    Status remove_unconfigured(const std::map<std::uint8_t, TopicConfig>& configured);
    Status configure_publisher_limit(const std::optional<RateLimit>& limit);
    // Hands the event to every adapter; returns how many accepted it, and how many failed.
    struct SendResult {
        unsigned sent = 0;
        unsigned failed = 0;
    };
    SendResult send(std::uint8_t topic, std::span<const std::uint8_t> payload);
    std::vector<NamedAdapterStats> stats() const;
    // The union of the adapters' Adapter::capabilities_kept.
    std::uint64_t capabilities_kept() const;
    // Closes every adapter (idempotent); they stay loaded until the set is destroyed.
    void close();
    std::size_t size() const { return adapters_.size(); }

private:
    struct Entry {
        std::string name;
        LoadedAdapter loaded;
    };
    std::shared_ptr<spdlog::logger> log_;
    std::vector<Entry> adapters_;
    mutable std::mutex control_mutex_;

    // Hands each adapter, in order, the items every adapter before it took; an item's Status is the first refusal,
    // prefixed with the adapter's name and `refusal(item)`. Called with control_mutex_ held.
    template <class Item, class Call, class Refusal>
    std::vector<Status> in_each_adapter(std::span<const Item> items, Call call, Refusal refusal) {
        std::vector<Status> results(items.size());
        for (auto& entry : adapters_) {
            std::vector<Item> taken;
            std::vector<std::size_t> where;
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (!results[i]) continue;
                taken.push_back(items[i]);
                where.push_back(i);
            }
            if (taken.empty()) break;
            std::vector<Status> outcome(taken.size());
            call(entry.loaded, std::span<const Item>(taken), std::span<Status>(outcome));
            for (std::size_t k = 0; k < taken.size(); ++k)
                if (!outcome[k])
                    results[where[k]] = outcome[k].prefixed("adapter '" + entry.name + "' " + refusal(taken[k]));
        }
        return results;
    }
};

}  // namespace tempos::mom
