// What a run needs from a broker's client side: publishers and subscribers on one topic (MQTT) or subject
// (NATS).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "tempos/status.hpp"

namespace tempos::bench::peers {

using PayloadHandler = std::function<void(std::span<const std::uint8_t>)>;

// How a publisher's messages go out.
enum class Sending {
    at_once,   // each on the wire before send() returns: the paced (latency) stream
    buffered,  // as fast as the connection takes them, coalesced as the client library does: the flood
};

class PeerPublisher {
public:
    virtual ~PeerPublisher() = default;
    // Waits (bounded) while the socket is full.
    virtual Status send(std::span<const std::uint8_t> payload) = 0;
    // Writes out what is buffered (bounded).
    virtual Status flush() = 0;
    // Handles what the broker sent (pings, errors) without blocking; an error when the connection is gone.
    virtual Status service() = 0;
};

class PeerSubscriber {
public:
    virtual ~PeerSubscriber() = default;
    // Waits up to timeout_ms for messages; each goes to the handler given when subscribing, in this thread.
    virtual Status receive(int timeout_ms) = 0;
};

// Both connect from the calling thread's network namespace and return once the broker has acknowledged
// (connection, and subscription for a subscriber), so nothing published afterwards is missed.
class PeerProtocol {
public:
    virtual ~PeerProtocol() = default;
    virtual const char* name() const = 0;
    virtual Result<std::unique_ptr<PeerPublisher>> connect_publisher(const std::string& topic, Sending sending) = 0;
    virtual Result<std::unique_ptr<PeerSubscriber>> connect_subscriber(const std::string& topic,
                                                                       PayloadHandler handler) = 0;
};

// MQTT through libmosquitto, QoS 0 (mosquitto_client.cpp); NATS through libnats (nats_client.cpp). Both are
// Debian's packages of the brokers' own client libraries, with TCP_NODELAY as on the brokers.
std::unique_ptr<PeerProtocol> mosquitto_protocol(const std::string& host, int port);
std::unique_ptr<PeerProtocol> nats_protocol(const std::string& host, int port);

}  // namespace tempos::bench::peers
