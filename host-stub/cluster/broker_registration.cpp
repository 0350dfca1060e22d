#include "broker_registration.hpp"

#include <nlohmann/json.hpp>

#include "backoff.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::cluster {

std::string brokers_prefix(const std::string& prefix) { return prefix + "/brokers/"; }

std::string broker_key(const std::string& prefix, const std::string& node) { return brokers_prefix(prefix) + node; }

BrokerInfo broker_info(const mom::MomConfig& config, const mom::SocketAddress& bound) {
    BrokerInfo info{mom::format_socket_address(bound), config.interface, ""};
    for (const mom::AdapterConfig& adapter : config.adapters)
        if (const auto mode = adapter.options.find("xdp_mode"); adapter.enabled && mode != adapter.options.end())
            info.xdp_mode = mode->second;
    return info;
}

std::string broker_value(const BrokerInfo& info, std::int64_t revision) {
    return nlohmann::json{{"listen", info.listen},
                          {"interface", info.interface},
                          {"xdp_mode", info.xdp_mode},
                          {"revision", revision}}
        .dump();
}

BrokerRegistration::BrokerRegistration(const mom::ClusterConfig& cluster, BrokerInfo info,
                                       const ClusterCounters& counters, std::shared_ptr<spdlog::logger> log,
                                       std::chrono::seconds ttl)
    : client_(cluster.etcd),
      key_(broker_key(cluster.prefix, cluster.node)),
      info_(std::move(info)),
      counters_(counters),
      log_(std::move(log)),
      ttl_(ttl) {}

BrokerRegistration::~BrokerRegistration() { stop(); }

void BrokerRegistration::start() {
    thread_.start([this] { run(); });
}

void BrokerRegistration::stop() {
    thread_.stop();
    if (lease_ != 0) {
        if (Status revoked = client_.revoke_lease(lease_); !revoked)
            log_->warn("broker key {}: cannot revoke its lease ({}); it expires within {} s", key_,
                       describe(revoked), ttl_.count());
        lease_ = 0;
    }
}

void BrokerRegistration::run() noexcept {
    // It only talks to etcd.
    if (Status dropped = drop_thread_capabilities(); !dropped)
        log_->warn("broker registration: capabilities not dropped: {}", describe(dropped));
    try {
        keep_registered();
    } catch (const std::exception& error) {
        log_->error("broker registration ended: {}", error.what());
    } catch (...) {
        log_->error("broker registration ended: unknown exception");
    }
}

// Grant, put, then keep alive every third of the TTL and write the value again when the applied revision moved
// (checked every second). A lease that expired (etcd unreachable for longer than the TTL) is granted anew.
void BrokerRegistration::keep_registered() {
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
    std::int64_t written = -1;
    auto since_keep_alive = std::chrono::steady_clock::now();
    bool reported = false;
    auto failed = [&](const Status& why) {
        if (!reported) log_->warn("broker key {}: {}; retrying", key_, describe(why));
        reported = true;
        return thread_.pause(backoff.next());
    };
    for (;;) {
        if (lease_ == 0) {
            const Result<Lease> lease = client_.grant_lease(ttl_.count());
            if (!lease) {
                if (!failed(lease.status())) return;
                continue;
            }
            lease_ = lease->id;
            written = -1;
            since_keep_alive = std::chrono::steady_clock::now();
        }
        const std::int64_t revision = counters_.revision_applied.load();
        if (revision != written) {
            const Result<std::int64_t> put = client_.put(key_, broker_value(info_, revision), lease_);
            if (!put) {
                if (put.code() == ErrorCode::not_found || put.code() == ErrorCode::invalid_argument) lease_ = 0;
                if (!failed(put.status())) return;
                continue;
            }
            if (written < 0) log_->info("broker key {} registered (lease {}, TTL {} s)", key_, lease_, ttl_.count());
            written = revision;
            reported = false;
            backoff.reset();
        }
        if (std::chrono::steady_clock::now() - since_keep_alive >= ttl_ / 3) {
            const Result<std::int64_t> alive = client_.keep_alive(lease_);
            if (!alive) {
                if (alive.code() == ErrorCode::not_found) lease_ = 0;  // expired: grant again, write again
                if (!failed(alive.status())) return;
                continue;
            }
            since_keep_alive = std::chrono::steady_clock::now();
        }
        if (!thread_.pause(std::chrono::seconds(1))) return;
    }
}

}  // namespace tempos::cluster
