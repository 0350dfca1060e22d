// The thread that follows the cluster (docs/cluster.md): reads the topics (a range at revision R), applies them,
// then watches from R + 1, so no change is missed or applied twice. When the watch breaks (etcd lost) it keeps the
// routes in force, backs off, and resumes from the last applied revision at the next endpoint; when that revision
// was compacted it reads the whole prefix again and applies the difference.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/logger.h>

#include "cluster_counters.hpp"
#include "cluster_sync.hpp"
#include "config.hpp"
#include "etcd_client.hpp"

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
    // Waits `delay` unless stop() comes first; false when stopping.
    bool pause(std::chrono::milliseconds delay);

    EtcdClient client_;
    ClusterSync& sync_;
    ClusterCounters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    WatchCancel cancel_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace tempos::cluster
