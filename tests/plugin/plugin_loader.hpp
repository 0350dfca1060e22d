// Loads libxdp_adapter.so through Boost.DLL the way tempos-mom does: check the ABI version alias first, then
// call the factory. The adapter is destroyed before the library is unloaded.
#pragma once

#include <boost/dll/shared_library.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <variant>

#include "tempos/adapter.hpp"

#ifndef TEMPOS_XDP_ADAPTER_PATH
#error "TEMPOS_XDP_ADAPTER_PATH must name the built libxdp_adapter.so"
#endif

namespace tempos::test {

struct LoadedAdapter {
    boost::dll::shared_library library;
    std::unique_ptr<Adapter> adapter;  // declared after the library: destroyed first

    LoadedAdapter() = default;
    LoadedAdapter(LoadedAdapter&&) = default;
    LoadedAdapter& operator=(LoadedAdapter&&) = default;
    ~LoadedAdapter() { adapter.reset(); }
};

inline std::variant<LoadedAdapter, std::string> load_xdp_adapter(const AdapterEnv& env,
                                                                 const std::string& path = TEMPOS_XDP_ADAPTER_PATH) {
    LoadedAdapter loaded;
    std::error_code error;
    loaded.library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, error);
    if (error) return "cannot load " + path + ": " + error.message();
    if (!loaded.library.has(kAbiVersionSymbol) || !loaded.library.has(kFactorySymbol))
        return path + " lacks the adapter aliases";
    const std::uint32_t version = loaded.library.get_alias<const std::uint32_t>(kAbiVersionSymbol);
    if (version != kAdapterAbiVersion) return "ABI version " + std::to_string(version) + " != " +
                                              std::to_string(kAdapterAbiVersion);
    AdapterFactory& factory = loaded.library.get_alias<AdapterFactory>(kFactorySymbol);
    loaded.adapter.reset(factory(env));
    if (!loaded.adapter) return "the factory returned no adapter";
    return loaded;
}

}  // namespace tempos::test
