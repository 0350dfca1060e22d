#include "adapter_set.hpp"

#include "adapter_check.hpp"

#include <exception>

namespace tempos::mom {

AdapterSet::AdapterSet(const LogContext& log) : log_(log.make_logger("adapters")) {}

AdapterSet::~AdapterSet() { close(); }

Status AdapterSet::open(const MomConfig& config, std::uint16_t bound_port, const std::filesystem::path& plugin_dir,
                        const AdapterEnv& env) {
    for (const AdapterConfig& adapter : config.adapters) {
        if (!adapter.enabled) {
            log_->info("adapter '{}' is disabled; not loaded", adapter.name);
            continue;
        }
        Result<ConfiguredAdapter> configured = load_configured_adapter(config, adapter, plugin_dir, env);
        if (!configured) {
            close();
            return configured.status();
        }
        auto& [loaded, path, channel] = *configured;
        channel.port = bound_port;
        Entry entry{adapter.name, std::move(loaded)};
        const Status status = entry.loaded->connect(channel);
        if (!status) {
            entry.loaded->close();
            close();
            return status.prefixed(config.where_adapter(adapter.name) + "adapter '" + adapter.name + "' (" +
                                   path.string() + ") refused to connect");
        }
        log_->info("adapter '{}' loaded from {} and connected", adapter.name, path.string());
        std::lock_guard lock(control_mutex_);
        adapters_.push_back(std::move(entry));
    }
    return Status::ok();
}

Status AdapterSet::configure_qos(const TopicConfig& topic) {
    std::lock_guard lock(control_mutex_);
    for (auto& entry : adapters_) {
        const Status status = entry.loaded->configure_qos(topic);
        if (!status) return status.prefixed("adapter '" + entry.name + "' refuses topic " + std::to_string(topic.id));
    }
    return Status::ok();
}

std::vector<Status> AdapterSet::configure_topics(std::span<const TopicConfig> topics) {
    std::lock_guard lock(control_mutex_);
    return in_each_adapter(
        topics,
        [](LoadedAdapter& a, auto t, auto out) { (void)a->configure_topics(t, out); },
        [](const TopicConfig& t) { return "refuses topic " + std::to_string(t.id); });
}

Status AdapterSet::remove_topic(std::uint8_t topic) {
    std::lock_guard lock(control_mutex_);
    for (auto& entry : adapters_) {
        const Status status = entry.loaded->remove_topic(topic);
        if (!status)
            return status.prefixed("adapter '" + entry.name + "' could not remove topic " + std::to_string(topic));
    }
    return Status::ok();
}

std::vector<Status> AdapterSet::remove_topics(std::span<const std::uint8_t> topics) {
    std::lock_guard lock(control_mutex_);
    return in_each_adapter(
        topics,
        [](LoadedAdapter& a, auto t, auto out) { (void)a->remove_topics(t, out); },
        [](std::uint8_t t) { return "could not remove topic " + std::to_string(t); });
}

Status AdapterSet::remove_unconfigured(const std::map<std::uint8_t, TopicConfig>& configured) {
    std::lock_guard lock(control_mutex_);
    for (auto& entry : adapters_) {
        // In one call, so that the adapter can remove them together.
        std::vector<std::uint8_t> unnamed;
        for (const TopicStats& topic : entry.loaded->stats().topics)
            if (!configured.contains(topic.topic)) unnamed.push_back(topic.topic);
        std::vector<Status> results(unnamed.size());
        (void)entry.loaded->remove_topics(unnamed, results);
        for (std::size_t i = 0; i < unnamed.size(); ++i) {
            if (!results[i])
                return results[i].prefixed("adapter '" + entry.name + "' could not remove topic " +
                                           std::to_string(unnamed[i]) + ", which the configuration does not name");
            log_->debug("adapter '{}': topic {} is not in the configuration: removed", entry.name, unnamed[i]);
        }
    }
    return Status::ok();
}

Status AdapterSet::configure_publisher_limit(const std::optional<RateLimit>& limit) {
    std::lock_guard lock(control_mutex_);
    for (auto& entry : adapters_) {
        const Status status = entry.loaded->configure_publisher_limit(limit);
        if (!status) return status.prefixed("adapter '" + entry.name + "' refuses the publisher limit");
    }
    return Status::ok();
}

AdapterSet::SendResult AdapterSet::send(std::uint8_t topic, std::span<const std::uint8_t> payload) {
    // adapters_ does not change while dispatchers run, so no lock here.
    SendResult result;
    for (auto& entry : adapters_) {
        const Status status = entry.loaded->send(topic, payload);
        if (status) {
            ++result.sent;
        } else {
            ++result.failed;
            log_->debug("adapter '{}' send(topic {}) failed: {}", entry.name, topic, describe(status));
        }
    }
    return result;
}

std::vector<NamedAdapterStats> AdapterSet::stats() const {
    std::lock_guard lock(control_mutex_);
    std::vector<NamedAdapterStats> all;
    for (const auto& entry : adapters_) all.push_back({entry.name, entry.loaded->stats()});
    return all;
}

std::uint64_t AdapterSet::capabilities_kept() const {
    std::lock_guard lock(control_mutex_);
    std::uint64_t kept = 0;
    for (const auto& entry : adapters_) kept |= entry.loaded->capabilities_kept();
    return kept;
}

void AdapterSet::close() {
    std::lock_guard lock(control_mutex_);
    for (auto& entry : adapters_) entry.loaded->close();
}

}  // namespace tempos::mom
