// The brokers compared with tempos: how to start each one in a namespace and how to talk to it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "peer_client.hpp"

namespace tempos::bench::peers {

struct PeerBroker {
    const char* name;     // also the prefix of its JSON fields
    const char* program;  // executable looked up in PATH and the sbin directories
    const char* package;  // the Debian package that provides it
    int port;
    // The command line of a broker listening on ip:port; may write its configuration into `dir`.
    std::string (*command_line)(const std::string& program_path, const std::string& ip, int port,
                                const std::string& dir, std::vector<std::string>& argv);
    std::unique_ptr<PeerProtocol> (*client)(const std::string& ip, int port);
};

// Mosquitto 2.0 (MQTT, QoS 0, libmosquitto) and nats-server 2.9 (libnats).
const std::vector<PeerBroker>& peer_brokers();

}  // namespace tempos::bench::peers
