// The test kit's one writer of a Controller TOML (docs/config.md): [mom], [[adapters]] with their options,
// [[topics]] with their subscription groups. Used by the C++ tests, tempos-bench and (through
// `tempos-testkit mom-config`) the e2e scenarios. Keys are written one per line in a fixed order, so a test can
// find the line of what it looks for in text(); values are formatted by toml11.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tempos/status.hpp"

namespace tempos::testkit {

struct ConfigEndpoint {
    std::string ip = {};
    std::uint16_t port = 0;  // 0: not written, the port of [mom] listen applies
    std::string mac = {};    // "": not written, the adapter resolves it
    // Written as the string "IP:PORT" ("[IPv6]:PORT") when it has a port and no MAC, else as
    // { ip = ..., port = ..., mac = ... }.
};

struct ConfigTopic {
    int id = 1;
    std::string qos = "strict";  // or "best-effort"
    // One group is written as subscribers = [...], several as [[topics.groups]] tables.
    std::vector<std::vector<ConfigEndpoint>> groups = {};
    std::uint64_t rate_limit = 0;  // 0: not written (no admission limit)
    std::uint64_t burst = 0;       // 0: not written
};

struct ConfigAdapter {
    std::string name = {};
    std::string library = {};
    bool enabled = true;  // written only when false
    // The adapter's own options (xdp_mode, record_file, ...), written as strings in this order.
    std::vector<std::pair<std::string, std::string>> options = {};
};

struct ControllerConfig {
    // [mom]: each key written only when set (non-empty, non-zero); the table itself always (tempos-mom refuses a
    // Controller file without it).
    struct Mom {
        std::string listen = {};  // "IP:PORT" or "[IPv6]:PORT"
        bool v6only = false;      // written only when true
        std::string interface = {};
        std::string metrics = {};  // "IP:PORT"
        int sq_priority = 0;
        std::uint64_t receive_buffer = 0;
        std::string drain_timeout = {};  // "250ms", "1s"
        std::string routes = {};
    } mom = {};
    // [cluster] (docs/cluster.md): written only with at least one endpoint; prefix and node only when set.
    struct Cluster {
        std::vector<std::string> etcd = {};  // "http://HOST:PORT"
        std::string prefix = {};
        std::string node = {};
        std::string cacert = {}, cert = {}, key = {};  // TLS: PEM file paths, each written when set
    } cluster = {};
    std::vector<ConfigAdapter> adapters = {};
    std::vector<ConfigTopic> topics = {};

    // The TOML text: [mom], [cluster], then the adapters, then the topics, tables separated by an empty line.
    std::string text() const;
    Status write(const std::filesystem::path& file) const;
};

// One [[adapters]] table of the XDP adapter (libxdp_adapter.so) in `xdp_mode`.
ConfigAdapter xdp_adapter(const std::string& xdp_mode);

// tempos-mom listening on `listen` ("IP:PORT") with one adapter, the XDP adapter in `xdp_mode` on `interface`.
ControllerConfig xdp_mom_config(const std::string& listen, const std::string& interface, const std::string& xdp_mode,
                                std::vector<ConfigTopic> topics = {});

// The pieces of text(), for writers that assemble a file in parts (the e2e shell).
std::string mom_table_toml(const ControllerConfig::Mom& mom);
std::string cluster_table_toml(const ControllerConfig::Cluster& cluster);
std::string adapter_toml(const ConfigAdapter& adapter);
std::string topic_toml(const ConfigTopic& topic);

// "IP:PORT" or "IP:PORT@MAC" or "IP@MAC" (the CLI's form of an endpoint); IPv6 as "[IP]:PORT", "[IP]:PORT@MAC",
// "IP@MAC" (ip is then held without brackets).
Result<ConfigEndpoint> parse_endpoint(const std::string& text);

// The 1-based line of the first line of `text` that starts with `start`, 0 if none.
int line_starting_with(const std::string& text, const std::string& start);

}  // namespace tempos::testkit
