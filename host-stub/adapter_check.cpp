#include "adapter_check.hpp"

namespace tempos::mom {

Result<ConfiguredAdapter> load_configured_adapter(const MomConfig& config, const AdapterConfig& adapter,
                                                  const std::filesystem::path& plugin_dir, const AdapterEnv& env) {
    auto path = resolve_plugin_path(adapter.library, plugin_dir);
    Result<LoadedAdapter> loaded = load_adapter(path, env);
    if (!loaded)
        return loaded.status().prefixed(config.where_adapter(adapter.name) + "adapter '" + adapter.name + "'");
    ChannelConfig channel = config.channel();
    channel.options = adapter.options;
    return ConfiguredAdapter{std::move(*loaded), std::move(path), std::move(channel)};
}

Status check_with_adapters(const MomConfig& config, const std::filesystem::path& plugin_dir, const AdapterEnv& env) {
    for (const AdapterConfig& adapter : config.adapters) {
        if (!adapter.enabled) continue;
        Result<ConfiguredAdapter> instance = load_configured_adapter(config, adapter, plugin_dir, env);
        if (!instance) return instance.status();
        if (Status status = instance->loaded->check_channel(instance->channel); !status)
            return status.prefixed(config.where_adapter(adapter.name) + "adapter '" + adapter.name + "' (" +
                                   instance->path.string() + ") refuses its options");
        for (const auto& [id, topic] : config.topics)
            if (Status status = instance->loaded->check_topic(topic); !status)
                return status.prefixed(config.where(id) + "adapter '" + adapter.name + "' refuses topic " +
                                       std::to_string(id));
    }
    return Status::ok();
}

}  // namespace tempos::mom
