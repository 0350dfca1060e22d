#include "etcd_client.hpp"

#include <algorithm>

#include <grpcpp/grpcpp.h>

#include "config.hpp"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace tempos::cluster {

namespace {

using Clock = std::chrono::system_clock;

Status from_grpc(const grpc::Status& status, const std::string& what) {
    ErrorCode code = ErrorCode::system_error;
    switch (status.error_code()) {
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
        case grpc::StatusCode::CANCELLED: code = ErrorCode::not_connected; break;
        case grpc::StatusCode::NOT_FOUND: code = ErrorCode::not_found; break;
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::OUT_OF_RANGE:
        case grpc::StatusCode::FAILED_PRECONDITION: code = ErrorCode::invalid_argument; break;
        case grpc::StatusCode::PERMISSION_DENIED:
        case grpc::StatusCode::UNAUTHENTICATED: code = ErrorCode::permission_denied; break;
        default: break;
    }
    return Status::error(code, what + ": " + status.error_message());
}

// Worth trying the next endpoint: that member is down or unreachable, or has lost its leader.
bool try_next(const grpc::Status& status) {
    return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
           status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

KeyValue to_key_value(const mvccpb::KeyValue& kv) {
    return KeyValue{kv.key(), kv.value(), kv.mod_revision(), kv.lease()};
}

}  // namespace

struct EtcdClient::Endpoint {
    std::string name;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
};

namespace {

using KvStub = etcdserverpb::KV::Stub;
using LeaseStub = etcdserverpb::Lease::Stub;

// each_endpoint's call for a unary RPC: `method` of the endpoint's `stub` (its KV or Lease service).
template <typename Stub, typename Request, typename Response>
auto unary(std::unique_ptr<Stub> EtcdClient::Endpoint::*stub,
           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*), const Request& request,
           Response& response) {
    return [stub, method, &request, &response](EtcdClient::Endpoint& e, grpc::ClientContext& c) {
        return ((*(e.*stub)).*method)(&c, request, &response);
    };
}

// Waits for the channel to be connected, or for an attempt made meanwhile to fail (a member that refuses the
// connection costs no timeout). Asking (GetState(true)) is what makes a channel that lost its member dial again:
// fail-fast calls on it kept failing with the old error after the member was back. A channel already failed when
// asked waits for its next attempt (gRPC's reconnect backoff, at most 1 s here).
bool connect(EtcdClient::Endpoint& endpoint, Clock::time_point deadline) {
    grpc_connectivity_state state = endpoint.channel->GetState(true);
    while (state != GRPC_CHANNEL_READY) {
        if (!endpoint.channel->WaitForStateChange(state, deadline)) return false;
        const grpc_connectivity_state next = endpoint.channel->GetState(true);
        if (next == GRPC_CHANNEL_TRANSIENT_FAILURE && state != GRPC_CHANNEL_TRANSIENT_FAILURE) return false;
        state = next;
    }
    return true;
}

std::string connect_error(const EtcdClient::Endpoint& endpoint) {
    switch (endpoint.channel->GetState(false)) {
        case GRPC_CHANNEL_TRANSIENT_FAILURE: {
            // gRPC keeps why the last attempt failed (a refused connection, a TLS handshake: a certificate the CAs
            // do not sign, ...) and says it to a call made on the failed channel, which fails at once.
            grpc::ClientContext context;
            context.set_deadline(Clock::now() + std::chrono::milliseconds(200));
            etcdserverpb::RangeRequest request;
            request.set_key("\0");
            etcdserverpb::RangeResponse response;
            const grpc::Status probe = endpoint.kv->Range(&context, request, &response);
            return probe.ok() ? "connection failed" : "connection failed: " + probe.error_message();
        }
        case GRPC_CHANNEL_CONNECTING: return "still connecting";
        case GRPC_CHANNEL_SHUTDOWN: return "channel shut down";
        default: return "not ready";
    }
}

}  // namespace

void WatchCancel::cancel() {
    std::lock_guard lock(mutex_);
    cancelled_.store(true);
    if (context_) context_->TryCancel();
}

void WatchCancel::attach(grpc::ClientContext* context) {
    std::lock_guard lock(mutex_);
    context_ = context;
    if (cancelled_.load()) context->TryCancel();
}

void WatchCancel::detach() {
    std::lock_guard lock(mutex_);
    context_ = nullptr;
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints, mom::EtcdTls tls, std::chrono::milliseconds call_timeout)
    : endpoints_(std::move(endpoints)), tls_(std::move(tls)), call_timeout_(call_timeout) {}

void EtcdClient::open_channels() {
    grpc::ChannelArguments args;
    // A member that went away is noticed by the watch within seconds, not at the next TCP timeout. etcd refuses
    // pings more often than every 5 s (--grpc-keepalive-min-time) with GOAWAY.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // Reconnect quickly once a member is back: the caller's backoff already paces the attempts.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls_.cacert;  // "": gRPC's default roots
    ssl.pem_cert_chain = tls_.cert;
    ssl.pem_private_key = tls_.key;
    for (const std::string& endpoint : endpoints_) {
        const auto target = mom::etcd_grpc_target(endpoint);
        if (!target) continue;
        auto e = std::make_unique<Endpoint>();
        e->name = endpoint;
        e->channel = grpc::CreateCustomChannel(
            *target, mom::etcd_endpoint_tls(endpoint) ? grpc::SslCredentials(ssl) : grpc::InsecureChannelCredentials(),
            args);
        e->kv = etcdserverpb::KV::NewStub(e->channel);
        e->watch = etcdserverpb::Watch::NewStub(e->channel);
        e->lease = etcdserverpb::Lease::NewStub(e->channel);
        channels_.push_back(std::move(e));
    }
}

EtcdClient::~EtcdClient() = default;

// `call(endpoint, context)` on each endpoint in turn from the current one, until one answers (or refuses for a
// reason another member would share).
template <typename Call>
Status EtcdClient::each_endpoint(const char* what, Call&& call) {
    std::call_once(opened_, [this] { open_channels(); });
    if (channels_.empty()) return Status::error(ErrorCode::invalid_argument, std::string(what) + ": no etcd endpoint");
    const std::size_t first = current_.load();
    Status last;
    // Twice per endpoint: a connection the member closed is only noticed by the call that uses it ("Socket
    // closed"), and the second attempt dials again. The writes here are idempotent, so a repeat is harmless.
    for (std::size_t i = 0; i < channels_.size(); ++i) {
        const std::size_t index = (first + i) % channels_.size();
        Endpoint& endpoint = *channels_[index];
        for (int attempt = 0; attempt < 2; ++attempt) {
            const auto deadline = Clock::now() + call_timeout_;
            if (!connect(endpoint, deadline)) {
                last = Status::error(ErrorCode::not_connected, std::string(what) + " at " + endpoint.name +
                                                                   ": cannot connect (" + connect_error(endpoint) + ")");
                break;
            }
            grpc::ClientContext context;
            context.set_deadline(deadline);
            const grpc::Status status = call(endpoint, context);
            if (status.ok()) {
                current_.store(index);
                return Status::ok();
            }
            last = from_grpc(status, std::string(what) + " at " + endpoint.name);
            if (!try_next(status)) return last;
            if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;  // a timeout: the next member
        }
    }
    return last;
}

Result<RangeResult> EtcdClient::range_prefix(const std::string& prefix, std::int64_t revision) {
    return range(prefix, prefix_range_end(prefix), revision);
}

Result<RangeResult> EtcdClient::range(const std::string& key, const std::string& range_end, std::int64_t revision) {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_range_end(range_end);
    request.set_revision(revision);
    etcdserverpb::RangeResponse response;
    const Status status = each_endpoint("range", unary(&Endpoint::kv, &KvStub::Range, request, response));
    if (!status) return status;
    RangeResult result;
    result.revision = response.header().revision();
    for (const auto& kv : response.kvs()) result.kvs.push_back(to_key_value(kv));
    return result;
}

Result<std::int64_t> EtcdClient::put(const std::string& key, const std::string& value, std::int64_t lease) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    const Status status = each_endpoint("put", unary(&Endpoint::kv, &KvStub::Put, request, response));
    if (!status) return status;
    return response.header().revision();
}

Result<std::int64_t> EtcdClient::erase(const std::string& key) { return erase_range(key, ""); }

Result<std::int64_t> EtcdClient::erase_prefix(const std::string& prefix) {
    return erase_range(prefix, prefix_range_end(prefix));
}

Result<std::int64_t> EtcdClient::erase_range(const std::string& key, const std::string& range_end) {
    etcdserverpb::DeleteRangeRequest request;
    request.set_key(key);
    request.set_range_end(range_end);
    etcdserverpb::DeleteRangeResponse response;
    const Status status = each_endpoint("delete", unary(&Endpoint::kv, &KvStub::DeleteRange, request, response));
    if (!status) return status;
    return response.header().revision();
}

Status EtcdClient::compact(std::int64_t revision) {
    etcdserverpb::CompactionRequest request;
    request.set_revision(revision);
    request.set_physical(true);
    etcdserverpb::CompactionResponse response;
    return each_endpoint("compact", unary(&Endpoint::kv, &KvStub::Compact, request, response));
}

Result<Lease> EtcdClient::grant_lease(std::int64_t ttl_seconds) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl_seconds);
    etcdserverpb::LeaseGrantResponse response;
    const Status status = each_endpoint("lease grant",
                                        unary(&Endpoint::lease, &LeaseStub::LeaseGrant, request, response));
    if (!status) return status;
    if (!response.error().empty()) return Result<Lease>::error(ErrorCode::system_error, "lease grant: " + response.error());
    return Lease{response.id(), response.ttl()};
}

Result<std::int64_t> EtcdClient::keep_alive(std::int64_t lease) {
    etcdserverpb::LeaseKeepAliveResponse response;
    bool answered = false;
    const Status status = each_endpoint("lease keep-alive", [&](Endpoint& e, grpc::ClientContext& c) {
        // The API has only the stream form: one request, one answer.
        auto stream = e.lease->LeaseKeepAlive(&c);
        etcdserverpb::LeaseKeepAliveRequest request;
        request.set_id(lease);
        answered = stream->Write(request) && stream->Read(&response);
        stream->WritesDone();
        if (answered) c.TryCancel();
        const grpc::Status finished = stream->Finish();
        return answered ? grpc::Status::OK : finished;
    });
    if (!status) return status;
    if (response.ttl() <= 0)
        return Result<std::int64_t>::error(ErrorCode::not_found, "lease " + std::to_string(lease) + " has expired");
    return response.ttl();
}

Status EtcdClient::revoke_lease(std::int64_t lease) {
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(lease);
    etcdserverpb::LeaseRevokeResponse response;
    return each_endpoint("lease revoke", unary(&Endpoint::lease, &LeaseStub::LeaseRevoke, request, response));
}

Result<std::int64_t> EtcdClient::lease_time_to_live(std::int64_t lease) {
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(lease);
    etcdserverpb::LeaseTimeToLiveResponse response;
    const Status status = each_endpoint("lease time-to-live",
                                        unary(&Endpoint::lease, &LeaseStub::LeaseTimeToLive, request, response));
    if (!status) return status;
    if (response.ttl() < 0)  // etcd answers -1 for a lease it does not have
        return Result<std::int64_t>::error(ErrorCode::not_found, "lease " + std::to_string(lease) + " has expired");
    return response.ttl();
}

Result<WatchEnd> EtcdClient::watch_range(const std::string& key, const std::string& range_end,
                                         std::int64_t from_revision,
                                          const std::function<void()>& on_created,
                                          const std::function<void(const WatchBatch&)>& on_batch,
                                          WatchCancel& cancel) {
    std::call_once(opened_, [this] { open_channels(); });
    if (channels_.empty()) return Result<WatchEnd>::error(ErrorCode::invalid_argument, "watch: no etcd endpoint");
    const std::size_t index = current_.load() % channels_.size();
    Endpoint& endpoint = *channels_[index];
    // A watch that broke: the next one starts at the next member (unless another call moved on already).
    auto move_on = [&] {
        std::size_t expected = index;
        current_.compare_exchange_strong(expected, (index + 1) % channels_.size());
    };

    if (!connect(endpoint, Clock::now() + call_timeout_)) {
        move_on();
        return Result<WatchEnd>::error(ErrorCode::not_connected,
                                       "watch at " + endpoint.name + ": cannot connect (" + connect_error(endpoint) + ")");
    }
    grpc::ClientContext context;
    cancel.attach(&context);
    struct Detach {
        WatchCancel& cancel;
        ~Detach() { cancel.detach(); }
    } detach{cancel};

    auto stream = endpoint.watch->Watch(&context);
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(key);
    create->set_range_end(range_end);
    create->set_start_revision(from_revision);
    if (!stream->Write(request)) {
        const grpc::Status status = stream->Finish();
        if (cancel.cancelled()) return WatchEnd{true, 0};
        move_on();
        return from_grpc(status, "watch at " + endpoint.name);
    }
    etcdserverpb::WatchResponse response;
    while (stream->Read(&response)) {
        if (response.canceled()) {
            context.TryCancel();
            (void)stream->Finish();
            if (response.compact_revision() > 0) return WatchEnd{false, response.compact_revision()};
            return Result<WatchEnd>::error(ErrorCode::system_error,
                                           "watch at " + endpoint.name + " cancelled by etcd: " + response.cancel_reason());
        }
        if (response.created() && on_created) on_created();
        if (response.events_size() == 0) continue;  // "created", or a progress notification
        WatchBatch batch;
        for (const auto& event : response.events()) {
            WatchEvent e;
            e.type = event.type() == mvccpb::Event::DELETE ? WatchEvent::Type::erase : WatchEvent::Type::put;
            e.kv = to_key_value(event.kv());
            // The events' own revision, not the header's: the store's revision moves with keys outside the
            // prefix too (the brokers' registrations).
            batch.revision = std::max(batch.revision, e.kv.mod_revision);
            batch.events.push_back(std::move(e));
        }
        on_batch(batch);
    }
    const grpc::Status status = stream->Finish();
    if (cancel.cancelled()) return WatchEnd{true, 0};
    move_on();
    return from_grpc(status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream ended") : status,
                     "watch at " + endpoint.name);
}

std::string prefix_range_end(const std::string& prefix) {
    std::string end = prefix;
    while (!end.empty()) {
        const auto last = static_cast<unsigned char>(end.back());
        if (last < 0xff) {
            end.back() = static_cast<char>(last + 1);
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');
}

}  // namespace tempos::cluster
