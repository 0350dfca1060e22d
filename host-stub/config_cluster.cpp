// [cluster]: etcd endpoints, key prefix, node name (docs/cluster.md).
#include "config_cluster.hpp"

#include <unistd.h>

#include <climits>

#include "config_toml.hpp"

namespace tempos::mom {

namespace {

// A DNS name or a dotted quad: letters, digits, '-' and '.', not empty.
bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    for (char c : host)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    return true;
}

std::string host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
    return name;
}

}  // namespace

std::optional<std::string> etcd_grpc_target(std::string_view endpoint) {
    constexpr std::string_view scheme = "http://";
    if (!endpoint.starts_with(scheme)) return std::nullopt;
    std::string_view rest = endpoint.substr(scheme.size());
    if (rest.ends_with('/')) rest.remove_suffix(1);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || !is_host_name(rest.substr(0, colon)) || !parse_port(rest.substr(colon + 1)))
        return std::nullopt;
    return std::string(rest);
}

namespace config_detail {

ClusterConfig read_cluster(const toml::value& table) {
    expect_table(table, "cluster");
    reject_unknown_keys(table, {"etcd", "prefix", "node"}, "[cluster]");
    ClusterConfig cluster;
    cluster.location = file_of(table) + ":" + std::to_string(line_of(table));
    const toml::value& etcd = require(table, "etcd", "[cluster]");
    const toml::array& endpoints = as_array(etcd, "[cluster] etcd");
    if (endpoints.empty()) fail(etcd, "[cluster] etcd needs at least one endpoint \"http://HOST:PORT\"");
    for (const toml::value& endpoint : endpoints) {
        const std::string& text = as_string(endpoint, "[cluster] etcd endpoint");
        if (text.starts_with("https://"))
            fail(endpoint, "[cluster] etcd endpoint " + quote_text(text) + ": TLS is not supported yet, use http://");
        if (!etcd_grpc_target(text))
            fail(endpoint, "[cluster] etcd endpoint must be \"http://HOST:PORT\" (HOST a name or an IPv4 address, "
                           "PORT 1..65535), got " + quote_text(text));
        for (const std::string& seen : cluster.etcd)
            if (seen == text) fail(endpoint, "duplicate [cluster] etcd endpoint " + quote_text(text));
        cluster.etcd.push_back(text);
    }
    if (const toml::value* prefix = find(table, "prefix")) {
        cluster.prefix = as_string(*prefix, "[cluster] prefix");
        if (cluster.prefix.size() < 2 || cluster.prefix.front() != '/' || cluster.prefix.back() == '/')
            fail(*prefix, "[cluster] prefix must start with '/' and not end with it, such as \"/tempos\", got " +
                              quote_text(cluster.prefix));
    }
    if (const toml::value* node = find(table, "node")) {
        cluster.node = as_string(*node, "[cluster] node");
        if (cluster.node.empty() || cluster.node.find('/') != std::string::npos)
            fail(*node, "[cluster] node must be a non-empty name without '/', got " + quote_text(cluster.node));
    } else {
        cluster.node = host_name();
    }
    return cluster;
}

}  // namespace config_detail

}  // namespace tempos::mom
