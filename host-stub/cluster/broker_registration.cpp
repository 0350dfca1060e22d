#include "broker_registration.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace tempos::cluster {

std::string brokers_prefix(const std::string& prefix) { return prefix + "/brokers/"; }

std::string broker_key(const std::string& prefix, const std::string& node) { return brokers_prefix(prefix) + node; }

BrokerInfo broker_info(const mom::MomConfig& config, const mom::SocketAddress& bound,
                       const std::vector<mom::NamedAdapterStats>& adapters) {
    BrokerInfo info{mom::format_socket_address(bound), config.interface, "", ""};
    for (const mom::AdapterConfig& adapter : config.adapters) {
        const auto mode = adapter.options.find("xdp_mode");
        if (!adapter.enabled || mode == adapter.options.end()) continue;
        info.xdp_mode_configured = mode->second;
        const auto running = std::find_if(adapters.begin(), adapters.end(),
                                          [&](const mom::NamedAdapterStats& a) { return a.name == adapter.name; });
        // An adapter that is not running (none should be, once the MoM has started) attaches nothing.
        info.xdp_mode = running != adapters.end() ? running->stats.mode : "off";
    }
    return info;
}

std::string broker_value(const BrokerInfo& info, std::int64_t revision) {
    return nlohmann::json{{"listen", info.listen},
                          {"interface", info.interface},
                          {"xdp_mode", info.xdp_mode},
                          {"xdp_mode_configured", info.xdp_mode_configured},
                          {"revision", revision}}
        .dump();
}

BrokerRegistration::BrokerRegistration(const mom::ClusterConfig& cluster, BrokerInfo info,
                                       const ClusterCounters& counters, std::shared_ptr<spdlog::logger> log,
                                       std::chrono::seconds ttl)
    : key_(cluster.etcd, cluster.tls, broker_key(cluster.prefix, cluster.node),
           [info = std::move(info), &counters] { return broker_value(info, counters.revision_applied.load()); }, ttl,
           std::move(log)) {}

}  // namespace tempos::cluster
