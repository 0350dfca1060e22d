// The broker's own key, <prefix>/brokers/<node>, kept under a lease while the MoM runs (docs/cluster.md): its
// listen address, interface, configured XDP mode and the etcd revision whose topics it has applied, so that an
// operator (tempos-ctl brokers) sees every broker and which lags. The key goes when the MoM stops (the lease is
// revoked) or dies (the lease expires).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "cluster_counters.hpp"
#include "config.hpp"
#include "etcd_client.hpp"
#include "stoppable_thread.hpp"

namespace tempos::cluster {

struct BrokerInfo {
    std::string listen;     // "IP:PORT" bound
    std::string interface;  // [mom] interface, "" for none
    std::string xdp_mode;   // the xdp_mode option of the adapters, "" for none
};

// What a running MoM registers: `bound` is its ingress address (the port actually bound).
BrokerInfo broker_info(const mom::MomConfig& config, const mom::SocketAddress& bound);

// The JSON value of a broker key.
std::string broker_value(const BrokerInfo& info, std::int64_t revision);
std::string broker_key(const std::string& prefix, const std::string& node);
std::string brokers_prefix(const std::string& prefix);

class BrokerRegistration {
public:
    BrokerRegistration(const mom::ClusterConfig& cluster, BrokerInfo info, const ClusterCounters& counters,
                       std::shared_ptr<spdlog::logger> log, std::chrono::seconds ttl = std::chrono::seconds(10));
    ~BrokerRegistration();  // stop()
    BrokerRegistration(const BrokerRegistration&) = delete;
    BrokerRegistration& operator=(const BrokerRegistration&) = delete;

    void start();
    // Revokes the lease (the key goes at once) and joins the thread. Idempotent.
    void stop();

private:
    void run() noexcept;
    void keep_registered();

    EtcdClient client_;
    std::string key_;
    BrokerInfo info_;
    const ClusterCounters& counters_;
    std::shared_ptr<spdlog::logger> log_;
    std::chrono::seconds ttl_;
    std::int64_t lease_ = 0;
    StoppableThread thread_;  // last: stopped first
};

}  // namespace tempos::cluster
