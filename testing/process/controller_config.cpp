#include "process/controller_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml.hpp>

namespace tempos::testkit {

namespace {

std::string quoted(const std::string& s) { return toml::format(toml::value(s)); }

std::string endpoint_toml(const ConfigEndpoint& e) {
    const bool ipv6 = e.ip.find(':') != std::string::npos;
    if (e.port != 0 && e.mac.empty())
        return quoted((ipv6 ? "[" + e.ip + "]" : e.ip) + ":" + std::to_string(e.port));
    std::string out = "{ ip = " + quoted(e.ip);
    if (e.port != 0) out += ", port = " + std::to_string(e.port);
    if (!e.mac.empty()) out += ", mac = " + quoted(e.mac);
    return out + " }";
}

// subscribers = [ ... ], one endpoint per line, each line indented by `indent`.
std::string subscribers_toml(const std::vector<ConfigEndpoint>& group, const std::string& indent) {
    std::string out = indent + "subscribers = [\n";
    for (const ConfigEndpoint& e : group) out += indent + "  " + endpoint_toml(e) + ",\n";
    return out + indent + "]\n";
}

}  // namespace

std::string mom_table_toml(const ControllerConfig::Mom& mom) {
    std::ostringstream out;
    if (!mom.listen.empty()) out << "listen = " << quoted(mom.listen) << "\n";
    if (mom.v6only) out << "v6only = true\n";
    if (!mom.interface.empty()) out << "interface = " << quoted(mom.interface) << "\n";
    if (!mom.metrics.empty()) out << "metrics = " << quoted(mom.metrics) << "\n";
    if (mom.sq_priority != 0) out << "sq_priority = " << mom.sq_priority << "\n";
    if (mom.receive_buffer != 0) out << "receive_buffer = " << mom.receive_buffer << "\n";
    if (!mom.drain_timeout.empty()) out << "drain_timeout = " << quoted(mom.drain_timeout) << "\n";
    if (!mom.routes.empty()) out << "routes = " << quoted(mom.routes) << "\n";
    return "[mom]\n" + out.str() + "\n";
}

std::string adapter_toml(const ConfigAdapter& adapter) {
    std::ostringstream out;
    out << "[[adapters]]\nname = " << quoted(adapter.name) << "\nlibrary = " << quoted(adapter.library) << "\n";
    if (!adapter.enabled) out << "enabled = false\n";
    for (const auto& [key, value] : adapter.options) out << key << " = " << quoted(value) << "\n";
    return out.str() + "\n";
}

std::string topic_toml(const ConfigTopic& topic) {
    std::ostringstream out;
    out << "[[topics]]\nid = " << topic.id << "\nqos = " << quoted(topic.qos) << "\n";
    if (topic.rate_limit != 0) out << "rate_limit = " << topic.rate_limit << "\n";
    if (topic.burst != 0) out << "burst = " << topic.burst << "\n";
    if (topic.groups.size() == 1) {
        out << subscribers_toml(topic.groups.front(), "");
    } else {
        for (const auto& group : topic.groups) out << "  [[topics.groups]]\n" << subscribers_toml(group, "  ");
    }
    return out.str() + "\n";
}

std::string cluster_table_toml(const ControllerConfig::Cluster& cluster) {
    if (cluster.etcd.empty()) return "";
    std::ostringstream out;
    out << "[cluster]\netcd = [";
    for (std::size_t i = 0; i < cluster.etcd.size(); ++i) out << (i ? ", " : "") << quoted(cluster.etcd[i]);
    out << "]\n";
    if (!cluster.prefix.empty()) out << "prefix = " << quoted(cluster.prefix) << "\n";
    if (!cluster.node.empty()) out << "node = " << quoted(cluster.node) << "\n";
    for (const auto& [name, path] : {std::pair{"cacert", &cluster.cacert}, std::pair{"cert", &cluster.cert},
                                     std::pair{"key", &cluster.key}})
        if (!path->empty()) out << name << " = " << quoted(*path) << "\n";
    return out.str() + "\n";
}

std::string ControllerConfig::text() const {
    std::string out = mom_table_toml(mom) + cluster_table_toml(cluster);
    for (const ConfigAdapter& a : adapters) out += adapter_toml(a);
    for (const ConfigTopic& t : topics) out += topic_toml(t);
    return out;
}

Status ControllerConfig::write(const std::filesystem::path& file) const {
    std::ofstream out(file, std::ios::trunc);
    out << text();
    out.close();
    if (!out)
        return Status::error(ErrorCode::system_error, "cannot write " + file.string() + ": " + std::strerror(errno));
    return Status::ok();
}

ConfigAdapter xdp_adapter(const std::string& xdp_mode) {
    return ConfigAdapter{"xdp", "libxdp_adapter.so", true, {{"xdp_mode", xdp_mode}}};
}

ControllerConfig xdp_mom_config(const std::string& listen, const std::string& interface, const std::string& xdp_mode,
                                std::vector<ConfigTopic> topics) {
    ControllerConfig config;
    config.mom.listen = listen;
    config.mom.interface = interface;
    config.adapters.push_back(xdp_adapter(xdp_mode));
    config.topics = std::move(topics);
    return config;
}

Result<ConfigEndpoint> parse_endpoint(const std::string& text) {
    ConfigEndpoint e;
    const std::size_t at = text.find('@');
    const std::string address = text.substr(0, at);
    if (at != std::string::npos) e.mac = text.substr(at + 1);
    // "[IPv6]:PORT", a bare IPv6 address (more than one ':'), or "IPv4[:PORT]".
    std::size_t colon = address.find(':');
    if (address.starts_with('[')) {
        const std::size_t close = address.find(']');
        if (close == std::string::npos)
            return Result<ConfigEndpoint>::error(ErrorCode::invalid_argument, "no ']' in endpoint \"" + text + "\"");
        e.ip = address.substr(1, close - 1);
        colon = address.size() > close + 1 && address[close + 1] == ':' ? close + 1 : std::string::npos;
    } else if (colon != std::string::npos && address.find(':', colon + 1) != std::string::npos) {
        e.ip = address;
        colon = std::string::npos;
    } else {
        e.ip = address.substr(0, colon);
    }
    if (colon != std::string::npos) {
        const std::string port = address.substr(colon + 1);
        char* end = nullptr;
        const unsigned long value = std::strtoul(port.c_str(), &end, 10);
        if (port.empty() || *end != '\0' || value == 0 || value > 65535)
            return Result<ConfigEndpoint>::error(ErrorCode::invalid_argument,
                                                 "invalid port \"" + port + "\" in endpoint \"" + text + "\"");
        e.port = static_cast<std::uint16_t>(value);
    }
    if (e.ip.empty() || (e.port == 0 && e.mac.empty()))
        return Result<ConfigEndpoint>::error(ErrorCode::invalid_argument,
                                             "endpoint \"" + text + "\" is not IP:PORT, IP:PORT@MAC or IP@MAC (IPv6: [IP]:PORT)");
    return e;
}

int line_starting_with(const std::string& text, const std::string& start) {
    std::istringstream in(text);
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (line.rfind(start, 0) == 0) return number;
    }
    return 0;
}

}  // namespace tempos::testkit
