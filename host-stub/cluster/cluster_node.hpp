// Everything a MoM with [cluster] runs for it: the counters, the sync into the Mom, the watcher thread.
#pragma once

#include <memory>

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
    // After mom.start(): the watcher reads and follows the cluster.
    void start() { watcher_.start(); }
    // Before mom.stop().
    void stop() { watcher_.stop(); }

private:
    ClusterCounters counters_;
    ClusterSync sync_;
    ClusterWatcher watcher_;
};

}  // namespace tempos::cluster
