#include "cluster_watcher.hpp"

#include "backoff.hpp"

namespace tempos::cluster {

ClusterWatcher::ClusterWatcher(const mom::ClusterConfig& cluster, ClusterSync& sync, ClusterCounters& counters,
                               std::shared_ptr<spdlog::logger> log)
    : client_(cluster.etcd, cluster.tls), sync_(sync), counters_(counters), log_(std::move(log)) {}

ClusterWatcher::~ClusterWatcher() { stop(); }

void ClusterWatcher::start() {
    thread_.start([this] { run(); });
}

void ClusterWatcher::stop() {
    thread_.stop([this] { cancel_.cancel(); });
}

// Nothing may escape the thread: whatever throws (an allocation, a library) is logged and the loop starts over
// from a full read, keeping the routes in force meanwhile.
void ClusterWatcher::run() noexcept {
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
    for (;;) {
        try {
            follow();
            return;  // stopping
        } catch (const std::exception& error) {
            log_->error("cluster watcher: {}; starting over", error.what());
        } catch (...) {
            log_->error("cluster watcher: unknown exception; starting over");
        }
        counters_.connected.store(false);
        if (!thread_.pause(backoff.next())) return;
    }
}

void ClusterWatcher::follow() {
    const std::string begin = sync_.watched_begin(), end_key = sync_.watched_end();
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5));
    std::int64_t revision = 0;  // applied so far
    bool read_all = true;
    bool reported_loss = false;
    auto lost = [&](const Status& why) {
        counters_.connected.store(false);
        // One error per outage; the retries go to debug.
        if (!reported_loss) log_->error("etcd lost, keeping the routes in force and retrying: {}", describe(why));
        else log_->debug("etcd still unreachable: {}", describe(why));
        reported_loss = true;
        return thread_.pause(backoff.next());
    };
    while (!cancel_.cancelled()) {
        if (read_all) {
            // Timed for tempos-bench cluster (its full-resync figure): the read, then every topic applied.
            const auto asked = std::chrono::steady_clock::now();
            const Result<RangeResult> range = client_.range(begin, end_key);
            if (!range) {
                if (!lost(range.status())) return;
                continue;
            }
            const auto read = std::chrono::steady_clock::now();
            sync_.resync(*range);
            revision = range->revision;
            counters_.revision_applied.store(revision);
            read_all = false;
            using Ms = std::chrono::duration<double, std::milli>;
            log_->info("cluster topics and members read at revision {} ({} key(s), read in {:.1f} ms, applied in "
                       "{:.1f} ms); watching from {}",
                       revision, range->kvs.size(), Ms(read - asked).count(),
                       Ms(std::chrono::steady_clock::now() - read).count(), revision + 1);
        }
        const Result<WatchEnd> end = client_.watch_range(
            begin, end_key, revision + 1,
            [&] {
                counters_.connected.store(true);
                if (reported_loss) log_->info("etcd reached again; resuming from revision {}", revision + 1);
                reported_loss = false;
                backoff.reset();
            },
            [&](const WatchBatch& batch) {
                sync_.apply(batch);
                revision = batch.revision;
                counters_.revision_applied.store(revision);
            },
            cancel_);
        if (end && end->cancelled) return;
        counters_.watch_restarts.fetch_add(1);
        if (end) {
            // Compacted past what was applied: the events in between are gone; a full read gives the difference.
            log_->warn("revision {} was compacted (now {}): reading every topic again", revision + 1,
                       end->compact_revision);
            read_all = true;
            continue;
        }
        if (!lost(end.status())) return;
    }
}

}  // namespace tempos::cluster
