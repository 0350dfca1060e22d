// The Controller TOML of tempos-mom: parsed and fully validated into plain values.
// Every error's message starts with the file and line it refers to ("file:line: why", or "file: why" when it
// concerns the file as a whole); its code is invalid_argument, or for an unreadable file not_found,
// permission_denied or system_error. See docs/config.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tempos/adapter.hpp"

namespace tempos::mom {

// An IPv4 or IPv6 address and a port. For IPv6, ip6 holds the address and ip is 0.0.0.0 (unused); IPv4-mapped
// IPv6 text (::ffff:a.b.c.d) is read as the IPv4 address, so each address has one family.
struct SocketAddress {
    Ipv4 ip{};
    std::uint16_t port = 0;
    std::optional<Ipv6> ip6 = std::nullopt;
    bool is_ipv6() const { return ip6.has_value(); }
    bool operator==(const SocketAddress&) const = default;
};

struct AdapterConfig {
    std::string name;
    std::string library;                         // absolute path or a file name in the plugin directory
    bool enabled = true;
    std::map<std::string, std::string> options;  // every other key, its value rendered as a string
    bool operator==(const AdapterConfig&) const = default;
};

// [cluster]: the etcd cluster whose topics this MoM follows (docs/cluster.md).
// TLS to etcd's https:// endpoints: the PEM texts of the files named as etcdctl's --cacert, --cert, --key.
struct EtcdTls {
    std::string cacert;     // the CAs that sign the members' certificates; "": the system's roots
    std::string cert, key;  // the client's certificate and key (both or neither)
    bool operator==(const EtcdTls&) const = default;
};

struct ClusterConfig {
    std::vector<std::string> etcd;   // endpoints of one cluster, "http://HOST:PORT" or "https://HOST:PORT" each
    std::string prefix = "/tempos";  // topic N is the key <prefix>/topics/N
    std::string node;                // this broker's name; default: the host name
    std::string location;            // "file:line" of [cluster]
    EtcdTls tls;                     // read at start (a SIGHUP that changes a file's text asks for a restart)
    bool operator==(const ClusterConfig&) const = default;
};

// "file:line" of each member of a topic, [group][member] as in TopicConfig::groups.
using MemberLocations = std::vector<std::vector<std::string>>;

struct MomConfig {
    std::filesystem::path source;                // the file this was read from
    SocketAddress listen{{0, 0, 0, 0}, 9998};
    bool v6only = false;                         // listen [::]: IPv6 only (IPV6_V6ONLY); default dual-stack
    std::string interface;
    std::optional<SocketAddress> metrics;
    int sq_priority = 99;                        // SCHED_FIFO priority of the strict dispatcher, 1..99
    std::int64_t receive_buffer = 4 << 20;       // SO_RCVBUF of the ingress socket, bytes
    std::chrono::milliseconds drain_timeout{1000};  // SIGTERM: how long the dispatchers may empty their queues
    std::int64_t queue_bytes = 16 << 20;          // per event queue (strict, best-effort): payload bytes it may hold
    std::optional<std::filesystem::path> routes; // thesis-format topic table, resolved against source's dir
    std::optional<RateLimit> publisher_limit;    // publisher_rate_limit / publisher_burst: per source IPv4
    std::vector<AdapterConfig> adapters;
    std::optional<ClusterConfig> cluster;
    std::map<std::uint8_t, TopicConfig> topics;  // from [[topics]] and the routes file, by id
    std::map<std::uint8_t, std::string> topic_locations;  // "file:line" where each topic is defined
    std::map<std::string, std::string> adapter_locations; // "file:line" of each adapter's name, by name
    std::map<std::uint8_t, MemberLocations> member_locations;  // by topic id

    // "file:line: " of a topic, for errors raised after loading (e.g. an adapter refusing it); "" if unknown.
    std::string where(std::uint8_t topic) const { return prefix(topic_locations, topic); }
    // The same for one member of a topic (falls back to the topic's location).
    std::string where_member(std::uint8_t topic, std::size_t group, std::size_t member) const {
        const auto it = member_locations.find(topic);
        if (it == member_locations.end() || group >= it->second.size() || member >= it->second[group].size())
            return where(topic);
        return it->second[group][member] + ": ";
    }
    // The same for an adapter, by its name.
    std::string where_adapter(const std::string& name) const { return prefix(adapter_locations, name); }

    // Whether the ingress receives IPv4: an IPv4 listen, or [::] without v6only (dual-stack).
    bool listens_ipv4() const { return !listen.ip6 || (!v6only && *listen.ip6 == Ipv6{}); }

    // What the adapters are connected with (the port: the configured one; the MoM tells them the bound one).
    ChannelConfig channel() const {
        ChannelConfig channel;
        channel.interface = interface;
        channel.mom_address = listen.ip;
        channel.mom_address6 = listen.ip6;
        channel.receives_ipv4 = listens_ipv4();
        channel.port = listen.port;
        return channel;
    }

private:
    template <typename Key>
    static std::string prefix(const std::map<Key, std::string>& locations, const Key& key) {
        const auto it = locations.find(key);
        return it == locations.end() ? std::string() : it->second + ": ";
    }
};

// Reads and validates a Controller TOML file (and the routes file it names).
Result<MomConfig> load_config(const std::filesystem::path& file);

// Reads a topic table in the thesis's format ([[topic]] topic_value / [[topic.address]] ip, mac).
// Every topic is strict with one group; padding entries 0.0.0.0 are skipped; port = mom_port.
Result<std::vector<TopicConfig>> load_thesis_routes(const std::filesystem::path& file, std::uint16_t mom_port);

// Parsers shared with the adapters' tests and tools. Return nullopt on malformed text.
std::optional<Ipv4> parse_ipv4(std::string_view text);
// RFC 4291 text (inet_pton: "2001:db8::1", "::ffff:10.0.0.1"), no brackets, no zone ("%eth0").
std::optional<Ipv6> parse_ipv6(std::string_view text);
// The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) stands for; nullopt for any other.
std::optional<Ipv4> mapped_ipv4(const Ipv6& ip);
// fe80::/10: needs an interface scope to be reached, which an endpoint cannot name.
bool is_link_local(const Ipv6& ip);
std::optional<Mac> parse_mac(std::string_view text);  // accepts single-digit groups: "0:a:b:c:d:e"
std::optional<SocketAddress> parse_socket_address(std::string_view text);  // "IPv4:PORT" or "[IPv6]:PORT"
std::optional<std::uint16_t> parse_port(std::string_view text);            // decimal 1..65535
std::string format_ipv4(const Ipv4& ip);
std::string format_mac(const Mac& mac);
std::string format_ipv6(const Ipv6& ip);                                  // RFC 5952 ("2001:db8::1")
std::string format_socket_address(const SocketAddress& address);          // "IP:PORT" or "[IPv6]:PORT"
// An endpoint's "IP:PORT" / "[IPv6]:PORT".
std::string format_endpoint(const Endpoint& endpoint);
// Why an endpoint's address cannot be a subscriber (0.0.0.0, ::, link-local IPv6), or nullopt: the one rule for
// config files and cluster member keys.
std::optional<std::string> invalid_subscriber_address(const Endpoint& endpoint);
// "HOST:PORT" (what gRPC dials) of an etcd endpoint "http://HOST:PORT" or "https://HOST:PORT" (TLS); nullopt for
// anything else. HOST is a dotted quad or a DNS name.
std::optional<std::string> etcd_grpc_target(std::string_view endpoint);
bool etcd_endpoint_tls(std::string_view endpoint);
// The text of a PEM file (what [cluster] cacert, cert and key name): "cannot read PATH: why" or "PATH is not a PEM
// file" otherwise.
Result<std::string> read_pem_file(const std::string& path);
// The rules of TLS settings for `endpoints`: cert and key both or neither, none without an https:// endpoint.
Status check_etcd_tls(const std::vector<std::string>& endpoints, const EtcdTls& tls);
// The tools' --cacert, --cert, --key (paths, "" = not given) read and checked for `endpoints`; errors name the option.
Result<EtcdTls> read_etcd_tls(const std::vector<std::string>& endpoints, const std::string& cacert,
                              const std::string& cert, const std::string& key);

}  // namespace tempos::mom
