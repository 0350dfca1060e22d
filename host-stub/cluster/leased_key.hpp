// One key kept in etcd under a lease while its owner lives (docs/cluster.md): granted, written, kept alive every
// third of the TTL, written again when its value changes, granted and written anew when the lease expired (etcd
// unreachable for longer than the TTL), revoked on stop() so the key goes at once. A process that dies leaves the
// key until the TTL has passed. What a broker's registration and `tempos-sub --register` both keep.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "etcd_client.hpp"
#include "stoppable_thread.hpp"

namespace tempos::cluster {

class LeasedKey {
public:
    // `value` is read on the keeping thread, at every check (at most every second, and at least three times per
    // TTL); the key is written again when it changed.
    LeasedKey(std::vector<std::string> endpoints, mom::EtcdTls tls, std::string key, std::function<std::string()> value,
              std::chrono::seconds ttl, std::shared_ptr<spdlog::logger> log);
    ~LeasedKey();  // stop()
    LeasedKey(const LeasedKey&) = delete;
    LeasedKey& operator=(const LeasedKey&) = delete;

    // Grants the lease and writes the key now, on this thread; the error when etcd refuses or cannot be reached.
    // Optional: start() does the same (retrying with backoff) when it was not done.
    Status register_once();
    // Keeps the key on a thread of its own (which drops every capability: it only talks to etcd).
    void start();
    // Revokes the lease (the key goes at once) and joins the thread. Idempotent.
    void stop();

    const std::string& key() const { return key_; }
    std::int64_t lease() const { return lease_.load(); }
    std::chrono::seconds ttl() const { return ttl_; }

private:
    void run() noexcept;
    void keep();
    Status grant_and_write();

    EtcdClient client_;
    std::string key_;
    std::function<std::string()> value_;
    std::chrono::seconds ttl_;
    std::shared_ptr<spdlog::logger> log_;
    std::atomic<std::int64_t> lease_{0};
    // The value last written and whether one was (keeping thread, or register_once before start).
    std::string written_;
    bool registered_ = false;
    std::chrono::steady_clock::time_point since_keep_alive_;
    StoppableThread thread_;  // last: stopped first
};

}  // namespace tempos::cluster
