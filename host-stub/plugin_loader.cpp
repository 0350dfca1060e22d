#include "plugin_loader.hpp"

#include <cstdint>
#include <exception>
#include <system_error>

namespace tempos::mom {

std::filesystem::path resolve_plugin_path(const std::string& library, const std::filesystem::path& plugin_dir) {
    std::filesystem::path path(library);
    if (path.is_absolute()) return path;
    return plugin_dir / path;
}

std::filesystem::path default_plugin_dir() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return std::filesystem::path("..") / "lib";
    return (exe.parent_path() / ".." / "lib").lexically_normal();
}

namespace {

std::variant<LoadedAdapter, PluginError> load_checked(const std::filesystem::path& path, const AdapterEnv& env) {
    const std::string where = path.string();
    std::error_code exists_ec;
    if (!std::filesystem::exists(path, exists_ec)) return PluginError{"plugin library not found: " + where};

    auto library = std::make_shared<boost::dll::shared_library>();
    std::error_code ec;
    library->load(path, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (ec) return PluginError{"cannot load plugin library " + where + ": " + ec.message()};

    // The version first: every other symbol's meaning depends on it.
    if (!library->has(kAbiVersionSymbol))
        return PluginError{"plugin " + where + " does not export " + kAbiVersionSymbol + " (not a tempos adapter)"};
    const std::uint32_t version = library->get_alias<const std::uint32_t>(kAbiVersionSymbol);
    if (version != kAdapterAbiVersion)
        return PluginError{"plugin " + where + " has adapter ABI version " + std::to_string(version) +
                           ", this tempos-mom needs version " + std::to_string(kAdapterAbiVersion) +
                           "; rebuild the plugin"};

    if (!library->has(kFactorySymbol))
        return PluginError{"plugin " + where + " does not export the factory " + kFactorySymbol};
    AdapterFactory& factory = library->get_alias<AdapterFactory>(kFactorySymbol);
    std::unique_ptr<Adapter> adapter(factory(env));
    if (!adapter) return PluginError{"plugin " + where + ": " + kFactorySymbol + " returned no adapter"};
    return LoadedAdapter(std::move(library), std::move(adapter));
}

}  // namespace

std::variant<LoadedAdapter, PluginError> load_adapter(const std::filesystem::path& library_path,
                                                      const AdapterEnv& env) {
    try {
        return load_checked(library_path, env);
    } catch (const std::exception& e) {
        return PluginError{"cannot load plugin " + library_path.string() + ": " + e.what()};
    }
}

}  // namespace tempos::mom
