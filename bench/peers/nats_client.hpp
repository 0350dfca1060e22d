// A minimal NATS client written here (no NATS client library is packaged in Debian 12): the client protocol is
// plain text over TCP: INFO, CONNECT, SUB, PUB, MSG, PING/PONG, +OK/-ERR, nothing else is used.
#pragma once

#include <string>

#include "peer_client.hpp"

namespace tempos::bench::peers {

class NatsProtocol : public PeerProtocol {
public:
    NatsProtocol(std::string host, int port) : host_(std::move(host)), port_(port) {}
    const char* name() const override { return "nats"; }
    std::unique_ptr<PeerPublisher> connect_publisher(const std::string& subject, std::string& error) override;
    std::unique_ptr<PeerSubscriber> connect_subscriber(const std::string& subject, PayloadHandler handler,
                                                       std::string& error) override;

private:
    std::string host_;
    int port_;
};

}  // namespace tempos::bench::peers
