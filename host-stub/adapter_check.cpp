#include "adapter_check.hpp"

namespace tempos::mom {

std::variant<ConfiguredAdapter, std::string> load_configured_adapter(const MomConfig& config,
                                                                     const AdapterConfig& adapter,
                                                                     const std::filesystem::path& plugin_dir,
                                                                     const AdapterEnv& env) {
    auto path = resolve_plugin_path(adapter.library, plugin_dir);
    auto loaded = load_adapter(path, env);
    if (const auto* error = std::get_if<PluginError>(&loaded))
        return config.where_adapter(adapter.name) + "adapter '" + adapter.name + "': " + error->message;
    ChannelConfig channel = config.channel();
    channel.options = adapter.options;
    return ConfiguredAdapter{std::move(std::get<LoadedAdapter>(loaded)), std::move(path), std::move(channel)};
}

std::optional<std::string> check_with_adapters(const MomConfig& config, const std::filesystem::path& plugin_dir,
                                               const AdapterEnv& env) {
    for (const AdapterConfig& adapter : config.adapters) {
        if (!adapter.enabled) continue;
        auto configured = load_configured_adapter(config, adapter, plugin_dir, env);
        if (auto* error = std::get_if<std::string>(&configured)) return std::move(*error);
        const ConfiguredAdapter& instance = std::get<ConfiguredAdapter>(configured);
        if (Status status = instance.loaded->check_channel(instance.channel); !status)
            return config.where_adapter(adapter.name) + "adapter '" + adapter.name + "' (" + instance.path.string() +
                   ") refuses its options: " + status.message();
        for (const auto& [id, topic] : config.topics)
            if (Status status = instance.loaded->check_topic(topic); !status)
                return config.where(id) + "adapter '" + adapter.name + "' refuses topic " + std::to_string(id) +
                       ": " + status.message();
    }
    return std::nullopt;
}

}  // namespace tempos::mom
