#include "cluster_node.hpp"

namespace tempos::cluster {

ClusterNode::ClusterNode(const mom::ClusterConfig& cluster, std::uint16_t default_port, mom::Mom& mom,
                         const mom::LogContext& log)
    : sync_(cluster, default_port,
            [&mom](const std::function<Status(mom::MomConfig&)>& edit, const std::function<void()>& on_applied) {
                return mom.update(edit, on_applied);
            },
            counters_, log.make_logger("cluster")),
      watcher_(cluster, sync_, counters_, log.make_logger("cluster")) {
    mom.set_reload_overlay([this](mom::MomConfig& loaded) { sync_.overlay(loaded); });
    mom.set_extra_metrics([this] { return render_cluster_metrics(counters_); });
}

}  // namespace tempos::cluster
