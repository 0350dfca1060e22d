// The MoM orchestrator: owns the adapters, the receiver, the two dispatchers and the metrics endpoint;
// starts them from a validated config, applies reloads as differences, and stops them in order.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "adapter_set.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "dispatcher.hpp"
#include "event_queue.hpp"
#include "ingress.hpp"
#include "logging.hpp"
#include "metrics_server.hpp"
#include "topic_table.hpp"

namespace tempos::mom {

struct MomOptions {
    std::filesystem::path plugin_dir;   // where relative [[adapters]] library names are looked up
    std::size_t queue_capacity = 4096;  // per queue (SQ and BQ)
};

class Mom {
public:
    Mom(MomOptions options, const LogContext& log);
    ~Mom();
    Mom(const Mom&) = delete;
    Mom& operator=(const Mom&) = delete;

    // Loads and connects the adapters, configures every topic, then starts the threads.
    // On failure everything opened so far is closed and the reason returned (an adapter's refusal with its code).
    Status start(const MomConfig& config);
    // Re-reads the running config's source file and applies the difference; on any error the running
    // configuration stays in force and the reason is returned (and logged).
    Status reload();
    // Applies the topic differences between the running config and `wanted`.
    Status apply(const MomConfig& wanted);
    // Stops the receiver, lets the dispatchers drain their queues for at most [mom] drain_timeout (what is left is
    // counted as abandoned), stops the threads and closes every adapter. Idempotent.
    void stop();

    SocketAddress ingress_address() const { return ingress_.local_address(); }
    std::optional<SocketAddress> metrics_address() const;
    // What the control thread must keep once started: the union of the adapters' (Adapter::capabilities_kept).
    std::uint64_t capabilities_kept() const { return adapters_.capabilities_kept(); }
    const MomCounters& counters() const { return counters_; }
    MomConfig running_config() const;
    std::string metrics_text() const;

private:
    Status apply_topics(const std::map<std::uint8_t, TopicConfig>& running, const MomConfig& wanted);
    void warn_about_restart_only_changes(const MomConfig& wanted) const;
    void drain();
    void set_topic_class(std::uint8_t topic, Qos qos);
    void erase_topic_class(std::uint8_t topic);
    // Logged, counted, and fatal (fatal.hpp).
    void roll_back_failed(const Status& failure, const Status& step);

    MomOptions options_;
    const LogContext& log_context_;
    std::shared_ptr<spdlog::logger> log_;
    MomCounters counters_;
    TopicTable topic_table_;
    EventQueue sq_;
    EventQueue bq_;
    AdapterSet adapters_;
    Ingress ingress_;
    std::unique_ptr<Dispatcher> sq_dispatcher_;
    std::unique_ptr<Dispatcher> bq_dispatcher_;
    std::unique_ptr<MetricsServer> metrics_;
    mutable std::mutex config_mutex_;  // guards running_ against the metrics thread
    MomConfig running_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace tempos::mom
