#include "cluster_node.hpp"

#include <grpc/grpc.h>

#include <thread>

#include "tempos/thread_capabilities.hpp"

namespace tempos::cluster {

ClusterNode::ClusterNode(const mom::ClusterConfig& cluster, std::uint16_t default_port, mom::Mom& mom,
                         const mom::LogContext& log)
    : cluster_(cluster),
      log_(log.make_logger("cluster")),
      sync_(cluster, default_port,
            [&mom](const std::function<Status(mom::MomConfig&)>& edit,
                   const std::function<void(const mom::TopicRefusals&)>& on_applied) {
                return mom.update(edit, on_applied);
            },
            counters_, log_),
      watcher_(cluster, sync_, counters_, log_) {
    mom.set_reload_overlay([this](mom::MomConfig& loaded) { sync_.overlay(loaded); });
    mom.set_extra_metrics([this] { return render_cluster_metrics(counters_); });
}

void ClusterNode::start(BrokerInfo info) {
    // gRPC's own threads start with its first channel and inherit that thread's capabilities: start them from a
    // thread that has none (the reference taken here keeps them for the process's life).
    std::thread([this] {
        if (Status dropped = drop_thread_capabilities(); !dropped)
            log_->warn("gRPC threads: capabilities not dropped: {}", describe(dropped));
        grpc_init();
    }).join();
    // The watcher applies changes like a reload: it keeps what the control thread kept (it inherits that).
    watcher_.start();
    registration_ = std::make_unique<BrokerRegistration>(cluster_, std::move(info), counters_, log_);
    registration_->start();
}

void ClusterNode::stop() {
    if (registration_) registration_->stop();
    watcher_.stop();
}

}  // namespace tempos::cluster
