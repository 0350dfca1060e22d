// NATS through libnats, whose threads inherit the connecting thread's scheduling (peers/README.md, run_streams).
#include <nats/nats.h>

#include <cstdint>
#include <memory>

#include "peers.hpp"

namespace tempos::bench::peers {

namespace {

constexpr std::int64_t kHandshakeMs = 3000;
constexpr std::int64_t kStallMs = 2000;    // a write making no progress this long is an error
constexpr int kMessagesPerReceive = 1024;  // so that a flood cannot keep receive() from returning

Status nats_error(const std::string& what, natsStatus s) {
    return Status::error(ErrorCode::system_error, what + ": " + natsStatus_GetText(s));
}

using Connection = std::unique_ptr<natsConnection, decltype([](natsConnection* c) { natsConnection_Destroy(c); })>;
using Subscription =
    std::unique_ptr<natsSubscription, decltype([](natsSubscription* s) { natsSubscription_Destroy(s); })>;

// Ok while connected; else why not (the server closes a slow consumer's connection, for instance).
Status connection_state(natsConnection* nc) {
    if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED) return Status::ok();
    const char* last = nullptr;
    natsConnection_GetLastError(nc, &last);
    return Status::error(ErrorCode::system_error, std::string("connection closed by nats-server") +
                                                      (last && *last ? std::string(" (") + last + ")" : ""));
}

// Connected once nats-server answered the handshake's PING. No reconnection: a lost connection is a result.
Result<Connection> open_connection(const std::string& url, bool at_once) {
    natsOptions* raw = nullptr;
    if (natsStatus s = natsOptions_Create(&raw); s != NATS_OK) return nats_error("natsOptions_Create", s);
    const std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> options(raw, natsOptions_Destroy);
    natsStatus s = natsOptions_SetURL(raw, url.c_str());
    if (s == NATS_OK) s = natsOptions_SetName(raw, "tempos-bench");
    if (s == NATS_OK) s = natsOptions_SetTimeout(raw, kHandshakeMs);
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(raw, false);
    if (s == NATS_OK) s = natsOptions_SetWriteDeadline(raw, kStallMs);
    // Not at once: libnats's default, its flusher thread coalesces the publishes; at once: each publish writes.
    if (s == NATS_OK) s = natsOptions_SetSendAsap(raw, at_once);
    if (s != NATS_OK) return nats_error("setting the NATS options", s);
    natsConnection* nc = nullptr;
    if ((s = natsConnection_Connect(&nc, raw)) != NATS_OK) return nats_error("connecting to nats-server " + url, s);
    return Connection(nc);
}

// A publisher of `subject`, or, with a subscription, its subscriber.
class NatsClient : public PeerConnection {
public:
    NatsClient(Connection nc, std::string subject, Subscription sub = {}, PayloadHandler handler = {})
        : nc_(std::move(nc)), subject_(std::move(subject)), sub_(std::move(sub)), handler_(std::move(handler)) {}

    Status send(std::span<const std::uint8_t> payload) override {
        const natsStatus s =
            natsConnection_Publish(nc_.get(), subject_.c_str(), payload.data(), static_cast<int>(payload.size()));
        return s == NATS_OK ? Status::ok() : nats_error("publishing to nats-server", s);
    }
    // Until the library's buffer is on the socket (no round trip: natsConnection_Flush would wait for a PONG).
    Status flush() override {
        if (!testkit::poll_until([this] { return natsConnection_Buffered(nc_.get()) <= 0; },
                                 std::chrono::milliseconds(kStallMs)))
            return Status::error(ErrorCode::system_error, "writing to nats-server: no progress for 2 s");
        return service();
    }
    Status service() override { return connection_state(nc_.get()); }

    // The first message is waited for; then what the library has already queued.
    Status receive(int timeout_ms) override {
        for (int i = 0; i < kMessagesPerReceive; ++i) {
            natsMsg* msg = nullptr;
            const natsStatus s = natsSubscription_NextMsg(&msg, sub_.get(), i == 0 ? timeout_ms : 0);
            if (s == NATS_TIMEOUT) break;
            if (s == NATS_SLOW_CONSUMER) continue;  // the library dropped what it had no room for: lost messages
            if (s != NATS_OK) return connection_state(nc_.get());
            handler_(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(natsMsg_GetData(msg)),
                                                   static_cast<std::size_t>(natsMsg_GetDataLength(msg))));
            natsMsg_Destroy(msg);
        }
        return service();
    }

private:
    Connection nc_;  // declared first: destroyed after the subscription
    std::string subject_;
    Subscription sub_;
    PayloadHandler handler_;
};

Result<std::vector<std::string>> command_line(const std::string& program_path, const std::string& ip, int port,
                                              const std::string&) {
    return std::vector<std::string>{program_path, "-a", ip, "-p", std::to_string(port)};
}

// A subscriber is subscribed once the server answered a PING sent after the SUB.
Result<std::unique_ptr<PeerConnection>> connect_client(const std::string& host, int port,
                                                       const std::string& subject, bool at_once,
                                                       PayloadHandler handler) {
    TEMPOS_ASSIGN_OR_RETURN(auto nc, open_connection("nats://" + host + ":" + std::to_string(port), at_once));
    if (!handler) return std::unique_ptr<PeerConnection>(std::make_unique<NatsClient>(std::move(nc), subject));
    natsSubscription* raw = nullptr;
    if (natsStatus s = natsConnection_SubscribeSync(&raw, nc.get(), subject.c_str()); s != NATS_OK)
        return nats_error("subscribing to " + subject, s);
    Subscription sub(raw);
    if (natsStatus s = natsConnection_FlushTimeout(nc.get(), kHandshakeMs); s != NATS_OK)
        return nats_error("no PONG from nats-server after SUB", s);
    return std::unique_ptr<PeerConnection>(
        std::make_unique<NatsClient>(std::move(nc), subject, std::move(sub), std::move(handler)));
}

}  // namespace

const Broker kNats{"nats", "nats-server", "nats-server", 4222, command_line, [] { nats_Open(-1); },
                   connect_client};

}  // namespace tempos::bench::peers
