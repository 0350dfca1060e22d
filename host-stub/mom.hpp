// The MoM orchestrator: owns the adapters, the receiver, the two dispatchers and the metrics endpoint;
// starts them from a validated config, applies reloads as differences, and stops them in order.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "adapter_set.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "dispatcher.hpp"
#include "event_queue.hpp"
#include "ingress.hpp"
#include "logging.hpp"
#include "metrics_server.hpp"
#include "topic_diff.hpp"
#include "topic_table.hpp"

namespace tempos::mom {

struct MomOptions {
    std::filesystem::path plugin_dir;   // where relative [[adapters]] library names are looked up
    std::size_t queue_capacity = 4096;  // per queue (SQ and BQ)
    std::vector<UniqueFd> inherited_sockets = {};  // the ingress sockets tempos-mom.socket passed, if any
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
    // Another source of topics (the cluster, cluster/cluster_sync.hpp): `edit` changes a copy of the running
    // config, which is then applied like a reload, except that each changed topic stands alone: the adapters get
    // every changed topic in one call (Adapter::configure_topics: a resync of 256 topics costs the xdp adapter one
    // RCU grace period, not 256), and a topic an adapter refuses keeps its running value while the others take
    // effect. `on_applied(refused)` then runs, with those refused. Both run under the lock that serializes every
    // change (reloads too), so a source's view of what runs cannot go stale. Returns the edit's error or a rule's
    // over the whole config (nothing applied, on_applied not run), else the first refusal, else ok.
    Status update(const std::function<Status(MomConfig& wanted)>& edit,
                  const std::function<void(const TopicRefusals& refused)>& on_applied = {});
    // Called by reload() with the config just read from the file, under that lock: adds the
    // topics of the other sources (which the file does not know) so that a reload keeps them. Set before start().
    void set_reload_overlay(std::function<void(MomConfig& loaded)> overlay);
    // More /metrics text (the cluster's), appended to the MoM's own. Set before start().
    void set_extra_metrics(std::function<std::string()> render);
    // Stops the receiver, lets the dispatchers drain their queues for at most [mom] drain_timeout (what is left is
    // counted as abandoned), stops the threads and closes every adapter. Idempotent.
    void stop();

    SocketAddress ingress_address() const { return ingress_.local_address(); }
    std::optional<SocketAddress> metrics_address() const;
    // What the control thread must keep once started: the union of the adapters' (Adapter::capabilities_kept).
    std::uint64_t capabilities_kept() const { return adapters_.capabilities_kept(); }
    const MomCounters& counters() const { return counters_; }
    // What each adapter reports now (its mode: what the kernel granted, e.g. generic for xdp_mode auto).
    std::vector<NamedAdapterStats> adapter_stats() const { return adapters_.stats(); }
    MomConfig running_config() const;
    std::string metrics_text() const;

private:
    // Without `refused`, all or nothing (a reload); with it, each topic on its own (update()).
    Status apply_locked(const MomConfig& wanted, TopicRefusals* refused = nullptr);
    Status apply_topics(const std::map<std::uint8_t, TopicConfig>& running, const MomConfig& wanted,
                        TopicRefusals* refused);
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
    std::mutex apply_mutex_;           // one change at a time: reloads, apply(), update()
    std::function<void(MomConfig&)> reload_overlay_;
    std::function<std::string()> extra_metrics_;
    mutable std::mutex config_mutex_;  // guards running_ against the metrics thread
    MomConfig running_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace tempos::mom
