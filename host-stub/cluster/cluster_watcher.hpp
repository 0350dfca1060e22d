// The thread that follows the cluster (docs/cluster.md): reads the topics (a range at revision R), applies them,
// then watches from R + 1, so no change is missed or applied twice. When the watch breaks (etcd lost) it keeps the
// routes in force, backs off, and resumes from the last applied revision at the next endpoint; when that revision
// was compacted it reads the whole prefix again and applies the difference.
#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "cluster_counters.hpp"
#include "cluster_sync.hpp"
#include "config.hpp"
#include "etcd_client.hpp"
#include "stoppable_thread.hpp"

namespace tempos::cluster {

class ClusterWatcher {
public:
    ClusterWatcher(const mom::ClusterConfig& cluster, ClusterSync& sync, ClusterCounters& counters,
                   std::shared_ptr<spdlog::logger> log);
    ~ClusterWatcher();  // stop()
    ClusterWatcher(const ClusterWatcher&) = delete;
    ClusterWatcher& operator=(const ClusterWatcher&) = delete;

    void start();
    // Ends the watch and joins the thread (at most one etcd call timeout). Idempotent.
    void stop();

private:
    void run() noexcept;
    void follow();

    EtcdClient client_;
    ClusterSync& sync_;
    ClusterCounters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    WatchCancel cancel_;
    StoppableThread thread_;  // last: stopped first
};

}  // namespace tempos::cluster
