// What the cluster side of a MoM exports in /metrics (docs/cluster.md, docs/monitoring.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace tempos::cluster {

struct ClusterCounters {
    std::atomic<bool> connected{false};                // the watch on etcd is established
    std::atomic<std::int64_t> revision_applied{0};     // the etcd revision whose topics are in force
    std::atomic<std::uint64_t> watch_restarts{0};      // watches that ended (lost etcd, compaction) and were renewed
    std::atomic<std::uint64_t> refused_keys{0};        // keys refused: bad key or value, file topic, adapter refusal
};

// The counters in the Prometheus text format.
std::string render_cluster_metrics(const ClusterCounters& counters);

}  // namespace tempos::cluster
