// The Controller TOML: [mom], [[adapters]], [[topics]] and the routes file it names. See docs/config.md.
#include "config.hpp"

#include <set>

#include "config_cluster.hpp"
#include "config_toml.hpp"
#include "config_topics.hpp"

namespace tempos::mom {

namespace {

using namespace config_detail;

constexpr std::size_t kMaxInterfaceNameLength = 15;  // IFNAMSIZ - 1

// The one adapter option validated here: a typo must not start a MoM in the wrong mode.
const std::set<std::string> kXdpModes = {"auto", "native", "generic", "off"};

// The kernel's rules for a device name (dev_valid_name), so a bad name fails here and not at attach time.
bool is_valid_interface_name(const std::string& name) {
    if (name.empty() || name.size() > kMaxInterfaceNameLength || name == "." || name == "..") return false;
    for (char c : name)
        if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
            return false;
    return true;
}

// [mom]; returns the routes value (if any) so that an unreadable routes file is blamed on that line.
const toml::value* read_mom(const toml::value& mom, const std::filesystem::path& file, MomConfig& config) {
    expect_table(mom, "mom");
    reject_unknown_keys(mom,
                        {"listen", "v6only", "interface", "metrics", "sq_priority", "receive_buffer", "drain_timeout",
                         "queue_bytes", "routes", "publisher_rate_limit", "publisher_burst"},
                        "[mom]");
    if (const toml::value* listen = find(mom, "listen")) {
        config.listen = as_socket_address(*listen, "[mom] listen");
        if (config.listen.ip6 && is_link_local(*config.listen.ip6))
            fail(*listen, "[mom] listen: a link-local IPv6 address (fe80::/10) needs an interface scope; listen on "
                          "[::] or a global address, got " + quote_text(format_socket_address(config.listen)));
    }
    if (const toml::value* v6only = find(mom, "v6only")) {
        config.v6only = as_bool(*v6only, "[mom] v6only");
        if (!config.listen.ip6)
            fail(*v6only, "[mom] v6only applies to an IPv6 listen address such as \"[::]:9998\"; listen is " +
                              quote_text(format_socket_address(config.listen)));
    }
    if (const toml::value* interface = find(mom, "interface")) {
        config.interface = as_string(*interface, "[mom] interface");
        if (!is_valid_interface_name(config.interface))
            fail(*interface, "[mom] interface must be a network interface name of 1.." +
                                 std::to_string(kMaxInterfaceNameLength) +
                                 " characters without '/', ':' or white space, got " + quote_text(config.interface));
    }
    if (const toml::value* metrics = find(mom, "metrics")) {
        config.metrics = as_socket_address(*metrics, "[mom] metrics");
    }
    if (const toml::value* priority = find(mom, "sq_priority"))
        config.sq_priority = static_cast<int>(as_integer(*priority, "[mom] sq_priority", 1, 99));
    if (const toml::value* buffer = find(mom, "receive_buffer"))
        config.receive_buffer = as_integer(*buffer, "[mom] receive_buffer", 64 << 10, 1 << 30);
    if (const toml::value* bytes = find(mom, "queue_bytes"))
        config.queue_bytes = as_integer(*bytes, "[mom] queue_bytes", 64 << 10, 1 << 30);
    if (const toml::value* drain = find(mom, "drain_timeout"))
        config.drain_timeout =
            as_duration(*drain, "[mom] drain_timeout", std::chrono::milliseconds(0), std::chrono::seconds(60));
    config.publisher_limit = read_rate_limit(mom, "publisher_rate_limit", "publisher_burst", "[mom]");
    const toml::value* routes = find(mom, "routes");
    if (routes) {
        const std::filesystem::path path = as_string(*routes, "[mom] routes");
        if (path.empty()) fail(*routes, "[mom] routes must name a file, got \"\"");
        config.routes = path.is_absolute() ? path : (file.parent_path() / path).lexically_normal();
    }
    return routes;
}

std::string read_option(const std::string& key, const toml::value& value) {
    if (value.is_string()) return value.as_string().str;
    if (value.is_boolean()) return value.as_boolean() ? "true" : "false";
    if (value.is_integer()) return std::to_string(value.as_integer());
    fail(value, "adapter option " + quote_text(key) + " must be a string, a boolean or an integer, got " +
                    type_noun(value));
}

AdapterConfig read_adapter(const toml::value& table) {
    AdapterConfig adapter;
    adapter.name = as_string(require(table, "name", "[[adapters]]"), "adapter name");
    if (adapter.name.empty()) fail(*find(table, "name"), "adapter name must not be empty");
    const toml::value& library = require(table, "library", "adapter " + quote_text(adapter.name));
    adapter.library = as_string(library, "adapter library");
    const std::filesystem::path library_path = adapter.library;
    if (adapter.library.empty() || (!library_path.is_absolute() && library_path.has_parent_path()))
        fail(library, "adapter library must be an absolute path or a file name in the plugin directory, got " +
                          quote_text(adapter.library));
    if (const toml::value* enabled = find(table, "enabled")) adapter.enabled = as_bool(*enabled, "adapter enabled");

    for (const auto& [key, value] : entries_in_file_order(table)) {
        if (*key == "name" || *key == "library" || *key == "enabled") continue;
        adapter.options.emplace(*key, read_option(*key, *value));
    }
    if (const auto mode = adapter.options.find("xdp_mode"); mode != adapter.options.end()) {
        if (!find(table, "xdp_mode")->is_string() || !kXdpModes.contains(mode->second))
            fail(*find(table, "xdp_mode"),
                 "xdp_mode must be \"auto\", \"native\", \"generic\" or \"off\", got " +
                     toml::format(*find(table, "xdp_mode")));
    }
    return adapter;
}

// `locations`: "file:line" of each adapter's name, for errors raised after loading (MomConfig::where_adapter).
std::vector<AdapterConfig> read_adapters(const toml::value& adapters, std::map<std::string, std::string>& locations) {
    std::vector<AdapterConfig> result;
    std::vector<int> name_lines;
    for (const toml::value& table : as_array_of_tables(adapters, "adapters")) {
        AdapterConfig adapter = read_adapter(table);
        for (std::size_t i = 0; i < result.size(); ++i)
            if (result[i].name == adapter.name)
                fail(*find(table, "name"), "duplicate adapter name " + quote_text(adapter.name) +
                                               " (first defined at line " + std::to_string(name_lines[i]) + ")");
        name_lines.push_back(line_of(*find(table, "name")));
        locations[adapter.name] = file_of(*find(table, "name")) + ":" + std::to_string(name_lines.back());
        result.push_back(std::move(adapter));
    }
    return result;
}

// The routes file; an unreadable one is reported at the routes line of the config.
toml::value parse_routes(const std::filesystem::path& routes, const toml::value& routes_value) {
    try {
        return parse_file(routes);
    } catch (const ConfigFailure& failure) {
        if (failure.line > 0) throw;
        fail(routes_value, "routes file " + quote_text(routes.string()) + ": " + failure.message, failure.code);
    }
}

MomConfig read_config(const std::filesystem::path& file) {
    MomConfig config;
    config.source = file;
    const toml::value root = parse_file(file);
    // "topic" is the thesis's own table: a thesis routes file is a valid Controller TOML as it stands.
    reject_unknown_keys(root, {"mom", "adapters", "topics", "topic", "cluster"}, "the top level");
    // An editor mid-write leaves an empty or truncated file: reloading it would remove every topic.
    const toml::value* mom = find(root, "mom");
    if (!mom)
        fail(file.string(), 0,
             "no [mom] table: not a Controller file (empty or truncated?); every Controller file starts with [mom] "
             "(write the new file next to it and rename it over the old one, docs/config.md)");
    const toml::value* routes_value = read_mom(*mom, file, config);
    if (const toml::value* adapters = find(root, "adapters"))
        config.adapters = read_adapters(*adapters, config.adapter_locations);
    if (const toml::value* cluster = find(root, "cluster")) config.cluster = read_cluster(*cluster);

    TopicRegistry registry;
    read_controller_topics(root, config.listen.port, registry);
    if (const toml::value* thesis_topics = find(root, "topic"))
        read_thesis_topics(*thesis_topics, config.listen.port, registry);
    if (config.routes)
        read_routes_file(parse_routes(*config.routes, *routes_value), config.routes->string(), config.listen.port,
                         registry);
    for (const auto& [id, located] : registry.topics()) {
        config.topics.emplace(id, located.topic);
        config.topic_locations.emplace(id, located.file + ":" + std::to_string(located.line));
        config.member_locations.emplace(id, located.members);
    }
    return config;
}

}  // namespace

Result<MomConfig> load_config(const std::filesystem::path& file) {
    try {
        return read_config(file);
    } catch (const ConfigFailure& failure) {
        return failure.status();
    } catch (const std::exception& error) {
        return ConfigFailure{file.string(), 0, error.what()}.status();
    }
}

}  // namespace tempos::mom
