// MQTT through libmosquitto (Debian's packaged client library), QoS 0, TCP_NODELAY on the client sockets as on
// the broker. Each client runs libmosquitto's loop in the caller's thread (no loop thread), so a publish goes
// straight to the socket from the publishing thread.
#pragma once

#include <string>

#include "peer_client.hpp"

namespace tempos::bench::peers {

class MosquittoProtocol : public PeerProtocol {
public:
    MosquittoProtocol(std::string host, int port);
    ~MosquittoProtocol() override;
    const char* name() const override { return "mosquitto"; }
    std::unique_ptr<PeerPublisher> connect_publisher(const std::string& topic, std::string& error) override;
    std::unique_ptr<PeerSubscriber> connect_subscriber(const std::string& topic, PayloadHandler handler,
                                                       std::string& error) override;

private:
    std::string host_;
    int port_;
};

}  // namespace tempos::bench::peers
