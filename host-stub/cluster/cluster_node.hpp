// Everything a MoM with [cluster] runs for it: the counters, the sync into the Mom, the watcher thread.
#pragma once

#include <memory>

#include "broker_registration.hpp"
#include "cluster_counters.hpp"
#include "cluster_sync.hpp"
#include "cluster_watcher.hpp"
#include "logging.hpp"
#include "mom.hpp"

namespace tempos::cluster {

class ClusterNode {
public:
    // Hooks into `mom` (its reload overlay and /metrics): build it before mom.start().
    ClusterNode(const mom::ClusterConfig& cluster, std::uint16_t default_port, mom::Mom& mom,
                const mom::LogContext& log);
    // After mom.start(): the watcher reads and follows the cluster; the broker key is registered.
    void start(BrokerInfo info);
    // Before mom.stop(): the broker key goes first, then the watch.
    void stop();

private:
    mom::ClusterConfig cluster_;
    std::shared_ptr<spdlog::logger> log_;
    ClusterCounters counters_;
    ClusterSync sync_;
    ClusterWatcher watcher_;
    std::unique_ptr<BrokerRegistration> registration_;  // last: its thread reads counters_
};

}  // namespace tempos::cluster
