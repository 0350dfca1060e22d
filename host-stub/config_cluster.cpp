// [cluster]: etcd endpoints, TLS to them, key prefix, node name (docs/cluster.md).
#include "config_cluster.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

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

bool etcd_endpoint_tls(std::string_view endpoint) { return endpoint.starts_with("https://"); }

std::optional<std::string> etcd_grpc_target(std::string_view endpoint) {
    const std::string_view scheme = etcd_endpoint_tls(endpoint) ? "https://" : "http://";
    if (!endpoint.starts_with(scheme)) return std::nullopt;
    std::string_view rest = endpoint.substr(scheme.size());
    if (rest.ends_with('/')) rest.remove_suffix(1);
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || !is_host_name(rest.substr(0, colon)) || !parse_port(rest.substr(colon + 1)))
        return std::nullopt;
    return std::string(rest);
}

Result<std::string> read_pem_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string text;
    if (in) text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in && !in.eof())
        return Result<std::string>::error(ErrorCode::invalid_argument,
                                          "cannot read " + path + ": " + std::strerror(errno));
    if (text.find("-----BEGIN ") == std::string::npos)
        return Result<std::string>::error(ErrorCode::invalid_argument, path + " is not a PEM file");
    return text;
}

Status check_etcd_tls(const std::vector<std::string>& endpoints, const EtcdTls& tls) {
    if (tls.cert.empty() != tls.key.empty())
        return Status::error(ErrorCode::invalid_argument, "a client certificate needs its key: give cert and key, or neither");
    const bool any_tls = std::any_of(endpoints.begin(), endpoints.end(), [](const std::string& e) { return etcd_endpoint_tls(e); });
    if (!any_tls && (!tls.cacert.empty() || !tls.cert.empty()))
        return Status::error(ErrorCode::invalid_argument, "cacert, cert and key are for https:// endpoints, and none is");
    return Status::ok();
}

Result<EtcdTls> read_etcd_tls(const std::vector<std::string>& endpoints, const std::string& cacert,
                              const std::string& cert, const std::string& key) {
    EtcdTls tls;
    for (auto [option, path, pem] : {std::tuple{"--cacert", &cacert, &tls.cacert}, std::tuple{"--cert", &cert, &tls.cert},
                                     std::tuple{"--key", &key, &tls.key}}) {
        if (path->empty()) continue;
        Result<std::string> text = read_pem_file(*path);
        if (!text) return text.status().prefixed(option);
        *pem = std::move(*text);
    }
    if (Status checked = check_etcd_tls(endpoints, tls); !checked) return checked;
    return tls;
}

namespace config_detail {

ClusterConfig read_cluster(const toml::value& table) {
    expect_table(table, "cluster");
    reject_unknown_keys(table, {"etcd", "prefix", "node", "cacert", "cert", "key"}, "[cluster]");
    ClusterConfig cluster;
    cluster.location = file_of(table) + ":" + std::to_string(line_of(table));
    const toml::value& etcd = require(table, "etcd", "[cluster]");
    const toml::array& endpoints = as_array(etcd, "[cluster] etcd");
    if (endpoints.empty()) fail(etcd, "[cluster] etcd needs at least one endpoint \"http://HOST:PORT\"");
    for (const toml::value& endpoint : endpoints) {
        const std::string& text = as_string(endpoint, "[cluster] etcd endpoint");
        if (!etcd_grpc_target(text))
            fail(endpoint, "[cluster] etcd endpoint must be \"http://HOST:PORT\" or \"https://HOST:PORT\" (HOST a name "
                           "or an IPv4 address, PORT 1..65535), got " + quote_text(text));
        for (const std::string& seen : cluster.etcd)
            if (seen == text) fail(endpoint, "duplicate [cluster] etcd endpoint " + quote_text(text));
        cluster.etcd.push_back(text);
    }
    // The files are read now, while tempos-mom still may (it drops its capabilities once running).
    for (auto [name, pem] : {std::pair{"cacert", &cluster.tls.cacert}, std::pair{"cert", &cluster.tls.cert},
                             std::pair{"key", &cluster.tls.key}})
        if (const toml::value* file = find(table, name)) {
            // Relative to the config file's directory, as [mom] routes.
            const std::filesystem::path path = as_string(*file, std::string("[cluster] ") + name);
            const Result<std::string> text = read_pem_file(
                path.is_absolute() ? path.string() : (std::filesystem::path(file_of(table)).parent_path() / path).string());
            if (!text) fail(*file, std::string("[cluster] ") + name + ": " + text.message());
            *pem = *text;
        }
    if (const Status tls = check_etcd_tls(cluster.etcd, cluster.tls); !tls) fail(table, "[cluster] " + tls.message());
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
