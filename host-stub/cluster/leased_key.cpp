#include "leased_key.hpp"

#include <algorithm>

#include "backoff.hpp"
#include "tempos/thread_capabilities.hpp"

namespace tempos::cluster {

LeasedKey::LeasedKey(std::vector<std::string> endpoints, mom::EtcdTls tls, std::string key, std::function<std::string()> value,
                     std::chrono::seconds ttl, std::shared_ptr<spdlog::logger> log)
    : client_(std::move(endpoints), std::move(tls)), key_(std::move(key)), value_(std::move(value)), ttl_(ttl), log_(std::move(log)) {}

LeasedKey::~LeasedKey() { stop(); }

Status LeasedKey::grant_and_write() {
    if (lease_.load() == 0) {
        const Result<Lease> lease = client_.grant_lease(ttl_.count());
        if (!lease) return lease.status();
        lease_.store(lease->id);
        since_keep_alive_ = std::chrono::steady_clock::now();
    }
    const std::string value = value_();
    const Result<std::int64_t> put = client_.put(key_, value, lease_.load());
    if (!put) {
        // The lease expired meanwhile (etcd says "requested lease not found"): grant a new one next time.
        if (put.code() == ErrorCode::not_found || put.code() == ErrorCode::invalid_argument) lease_.store(0);
        return put.status();
    }
    written_ = value;
    registered_ = true;
    return Status::ok();
}

Status LeasedKey::register_once() {
    const bool first = !registered_;
    if (Status written = grant_and_write(); !written) return written;
    if (first) log_->info("{} registered (lease {:x}, TTL {} s)", key_, lease_.load(), ttl_.count());
    return Status::ok();
}

void LeasedKey::start() {
    thread_.start([this] { run(); });
}

void LeasedKey::stop() {
    thread_.stop();
    if (const std::int64_t lease = lease_.exchange(0); lease != 0) {
        if (Status revoked = client_.revoke_lease(lease); !revoked)
            log_->warn("{}: cannot revoke its lease ({}); it expires within {} s", key_, describe(revoked), ttl_.count());
    }
}

void LeasedKey::run() noexcept {
    if (Status dropped = drop_thread_capabilities(); !dropped)
        log_->warn("{}: capabilities of the keeping thread not dropped: {}", key_, describe(dropped));
    try {
        keep();
    } catch (const std::exception& error) {
        log_->error("{}: no longer kept: {}", key_, error.what());
    } catch (...) {
        log_->error("{}: no longer kept: unknown exception", key_);
    }
}

// Written whenever there is no lease or the value moved; kept alive every third of the TTL. Failures are retried
// with backoff, the first of a series logged.
void LeasedKey::keep() {
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
    const auto third = std::chrono::duration_cast<std::chrono::milliseconds>(ttl_) / 3;
    // At least three checks per TTL, so that a keep-alive is never late by more than a third of it.
    const auto period = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), third);
    bool reported = false;
    bool registered = registered_;
    auto failed = [&](const Status& why) {
        if (!reported) log_->warn("{}: {}; retrying", key_, describe(why));
        reported = true;
        return thread_.pause(backoff.next());
    };
    for (;;) {
        if (lease_.load() == 0 || value_() != written_) {
            if (Status written = grant_and_write(); !written) {
                if (!failed(written)) return;
                continue;
            }
            if (!registered || reported)
                log_->info("{} registered (lease {:x}, TTL {} s)", key_, lease_.load(), ttl_.count());
            registered = true;
            reported = false;
            backoff.reset();
        }
        if (std::chrono::steady_clock::now() - since_keep_alive_ >= third) {
            const Result<std::int64_t> alive = client_.keep_alive(lease_.load());
            if (!alive) {
                if (alive.code() == ErrorCode::not_found) lease_.store(0);  // expired: grant again, write again
                if (!failed(alive.status())) return;
                continue;
            }
            since_keep_alive_ = std::chrono::steady_clock::now();
            if (reported) log_->info("{}: kept alive again (lease {:x})", key_, lease_.load());
            reported = false;
            backoff.reset();
        }
        if (!thread_.pause(period)) return;
    }
}

}  // namespace tempos::cluster
