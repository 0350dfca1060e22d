// A small client of etcd's v3 gRPC API (KV, Watch, Lease), over the stubs generated from the Debian-shipped
// .proto files (cluster/CMakeLists.txt). Errors are values; nothing throws. Several endpoints of one cluster:
// each call tries them in turn, starting at the last one that answered, so a dead member costs one timeout per
// call at most; backing off between whole rounds is the caller's (backoff.hpp), which knows what it waits for.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.hpp"
#include "tempos/status.hpp"

namespace grpc {
class ClientContext;
}

namespace tempos::cluster {

struct KeyValue {
    std::string key;
    std::string value;
    std::int64_t mod_revision = 0;
    std::int64_t lease = 0;
};

struct RangeResult {
    std::int64_t revision = 0;  // the store's revision the range was read at
    std::vector<KeyValue> kvs;
};

struct WatchEvent {
    enum class Type { put, erase };
    Type type = Type::put;
    KeyValue kv;  // for erase: the key and the revision of the delete
};

// A batch of events of one watch response, and the revision it brings the watcher to.
struct WatchBatch {
    std::int64_t revision = 0;  // of its last event
    std::vector<WatchEvent> events;
};

// How a watch ended without an error.
struct WatchEnd {
    bool cancelled = false;            // by WatchCancel
    std::int64_t compact_revision = 0;  // > 0: the start revision was compacted; re-read from a range
};

struct Lease {
    std::int64_t id = 0;
    std::int64_t ttl_seconds = 0;
};

// The end of the range of keys starting with `prefix`: the prefix with its last byte below 0xff incremented
// (etcd's range_end convention; "\0" when every byte is 0xff, meaning "to the end").
std::string prefix_range_end(const std::string& prefix);

// Ends a running watch_prefix() from another thread (before or during it).
class WatchCancel {
public:
    void cancel();
    bool cancelled() const { return cancelled_.load(); }

private:
    friend class EtcdClient;
    void attach(grpc::ClientContext* context);
    void detach();
    std::mutex mutex_;
    grpc::ClientContext* context_ = nullptr;
    std::atomic<bool> cancelled_{false};
};

class EtcdClient {
public:
    // `endpoints`: "http://HOST:PORT" or "https://HOST:PORT" each, as mom::etcd_grpc_target() accepts them; one that
    // it refuses is skipped, and with none left every call fails. The https:// ones are dialled with TLS: `tls`'s CAs
    // (the system's when none) verify the member, its certificate and key (if any) authenticate this client.
    EtcdClient(std::vector<std::string> endpoints, mom::EtcdTls tls = {},
               std::chrono::milliseconds call_timeout = std::chrono::seconds(2));
    ~EtcdClient();
    EtcdClient(const EtcdClient&) = delete;
    EtcdClient& operator=(const EtcdClient&) = delete;

    // Every key starting with `prefix`, at `revision` (0: the newest).
    Result<RangeResult> range_prefix(const std::string& prefix, std::int64_t revision = 0);
    // Every key in [key, range_end), at `revision`.
    Result<RangeResult> range(const std::string& key, const std::string& range_end, std::int64_t revision = 0);
    // The revision of the write.
    Result<std::int64_t> put(const std::string& key, const std::string& value, std::int64_t lease = 0);
    Result<std::int64_t> erase(const std::string& key);
    Result<std::int64_t> erase_prefix(const std::string& prefix);
    // Compacts the history up to `revision` (tests and tempos-ctl).
    Status compact(std::int64_t revision);

    Result<Lease> grant_lease(std::int64_t ttl_seconds);
    // One keep-alive: the lease's TTL again; not_found when it has already expired.
    Result<std::int64_t> keep_alive(std::int64_t lease);
    Status revoke_lease(std::int64_t lease);
    // The seconds a lease has left (etcd's view, rounded down); not_found once it has expired or was revoked.
    Result<std::int64_t> lease_time_to_live(std::int64_t lease);

    // Watches every key under `prefix` from `from_revision` on, calling `on_created` once etcd has accepted the
    // watch and `on_batch` for each response with events (on this thread). Returns when cancelled, when etcd says the revision was compacted, or with an error when
    // the stream could not be opened or broke (the next call starts at the next endpoint).
    Result<WatchEnd> watch_prefix(const std::string& prefix, std::int64_t from_revision,
                                  const std::function<void()>& on_created,
                                  const std::function<void(const WatchBatch&)>& on_batch, WatchCancel& cancel) {
        return watch_range(prefix, prefix_range_end(prefix), from_revision, on_created, on_batch, cancel);
    }
    // The same for the keys in [key, range_end).
    Result<WatchEnd> watch_range(const std::string& key, const std::string& range_end, std::int64_t from_revision,
                                  const std::function<void()>& on_created,
                                  const std::function<void(const WatchBatch&)>& on_batch, WatchCancel& cancel);

    const std::vector<std::string>& endpoints() const { return endpoints_; }

    struct Endpoint;  // one member's channel and stubs (etcd_client.cpp)

private:
    template <typename Call>
    Status each_endpoint(const char* what, Call&& call);
    // range_end "": the key alone.
    Result<std::int64_t> erase_range(const std::string& key, const std::string& range_end);

    std::vector<std::string> endpoints_;
    mom::EtcdTls tls_;
    std::chrono::milliseconds call_timeout_;
    // Made at the first call, on the thread that makes it (capabilities are per thread: cluster_node.cpp).
    void open_channels();
    std::once_flag opened_;
    std::vector<std::unique_ptr<Endpoint>> channels_;
    std::atomic<std::size_t> current_{0};
};


}  // namespace tempos::cluster
