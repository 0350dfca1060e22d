// The broker's own key, <prefix>/brokers/<node>, kept under a lease while the MoM runs (docs/cluster.md): its
// listen address, interface, the XDP mode its adapter was granted and the etcd revision whose topics it has
// applied, so that an operator (tempos-ctl brokers) sees every broker and which lags. The key goes when the MoM stops (the lease is
// revoked) or dies (the lease expires).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "adapter_set.hpp"
#include "cluster_counters.hpp"
#include "config.hpp"
#include "leased_key.hpp"

namespace tempos::cluster {

struct BrokerInfo {
    std::string listen;     // "IP:PORT" bound
    std::string interface;  // [mom] interface, "" for none
    std::string xdp_mode;   // the mode the adapter with an xdp_mode option attached in ("native", "generic", "off")
    std::string xdp_mode_configured;  // that option as configured ("auto" ...); both "" when no adapter has one
};

// What a running MoM registers: `bound` is its ingress address (the port actually bound), `adapters` what its
// adapters report (AdapterStats::mode: what the kernel granted, which `auto` leaves to the adapter).
BrokerInfo broker_info(const mom::MomConfig& config, const mom::SocketAddress& bound,
                       const std::vector<mom::NamedAdapterStats>& adapters);

// The JSON value of a broker key.
std::string broker_value(const BrokerInfo& info, std::int64_t revision);
std::string broker_key(const std::string& prefix, const std::string& node);
std::string brokers_prefix(const std::string& prefix);

class BrokerRegistration {
public:
    BrokerRegistration(const mom::ClusterConfig& cluster, BrokerInfo info, const ClusterCounters& counters,
                       std::shared_ptr<spdlog::logger> log, std::chrono::seconds ttl = std::chrono::seconds(10));
    BrokerRegistration(const BrokerRegistration&) = delete;
    BrokerRegistration& operator=(const BrokerRegistration&) = delete;

    // Keeps the key (retrying while etcd cannot be reached: the MoM runs on meanwhile).
    void start() { key_.start(); }
    // Revokes the lease (the key goes at once) and joins the thread. Idempotent.
    void stop() { key_.stop(); }

private:
    LeasedKey key_;
};

}  // namespace tempos::cluster
