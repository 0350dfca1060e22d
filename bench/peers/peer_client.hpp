// What a run needs from a broker's client side: publishers and subscribers on one topic (MQTT) or subject
// (NATS). Errors are returned as text, empty meaning success.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace tempos::bench::peers {

using PayloadHandler = std::function<void(std::span<const std::uint8_t>)>;

class PeerPublisher {
public:
    virtual ~PeerPublisher() = default;
    // Puts one message on the wire before returning: the paced (latency) stream.
    virtual std::string send_now(std::span<const std::uint8_t> payload) = 0;
    // As fast as the connection takes it: may buffer, waits (bounded) while the socket is full: the flood.
    virtual std::string send_queued(std::span<const std::uint8_t> payload) = 0;
    // Writes out what send_queued buffered.
    virtual std::string flush() = 0;
    // Handles what the broker sent (pings, errors) without blocking.
    virtual std::string service() = 0;
};

class PeerSubscriber {
public:
    virtual ~PeerSubscriber() = default;
    // Waits up to timeout_ms for messages; each goes to the handler given when subscribing, in this thread.
    virtual std::string receive(int timeout_ms) = 0;
};

// Both connect from the calling thread's network namespace and return once the broker has acknowledged
// (connection, and subscription for a subscriber), so nothing published afterwards is missed.
class PeerProtocol {
public:
    virtual ~PeerProtocol() = default;
    virtual const char* name() const = 0;
    virtual std::unique_ptr<PeerPublisher> connect_publisher(const std::string& topic, std::string& error) = 0;
    virtual std::unique_ptr<PeerSubscriber> connect_subscriber(const std::string& topic, PayloadHandler handler,
                                                               std::string& error) = 0;
};

}  // namespace tempos::bench::peers
