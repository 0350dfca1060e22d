// Loads an adapter plugin through Boost.DLL: checks the ABI version alias before anything else, then calls
// the factory. Every failure comes back as a value; no Boost exception leaves this file. tempos-mom and the
// tests that load a plugin (tests/plugin) use this one loader.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "tempos/adapter.hpp"

namespace tempos::mom {

// An adapter together with the library its code lives in. The library is declared first so it is
// destroyed last: the adapter's destructor (plugin code) runs while the library is still mapped.
class LoadedAdapter {
public:
    LoadedAdapter(std::shared_ptr<boost::dll::shared_library> library, std::unique_ptr<Adapter> adapter)
        : library_(std::move(library)), adapter_(std::move(adapter)) {}
    LoadedAdapter(LoadedAdapter&&) noexcept = default;
    LoadedAdapter& operator=(LoadedAdapter&& other) noexcept {
        // Destroy our adapter before our library, then take the other pair.
        adapter_.reset();
        library_ = std::move(other.library_);
        adapter_ = std::move(other.adapter_);
        return *this;
    }
    ~LoadedAdapter() { adapter_.reset(); }

    Adapter& adapter() const { return *adapter_; }
    Adapter* operator->() const { return adapter_.get(); }

private:
    std::shared_ptr<boost::dll::shared_library> library_;
    std::unique_ptr<Adapter> adapter_;
};

// `library` as written in the config: absolute, or relative to `plugin_dir`.
std::filesystem::path resolve_plugin_path(const std::string& library, const std::filesystem::path& plugin_dir);

// The default plugin directory: ../lib next to the running executable.
std::filesystem::path default_plugin_dir();

// Errors: not_found (no such file, or a directory on the way is missing), permission_denied (the file or a
// directory on the way may not be read or traversed by this process), invalid_argument (not a loadable library,
// not a tempos adapter, another adapter ABI), internal (the factory failed); each message names the path.
Result<LoadedAdapter> load_adapter(const std::filesystem::path& library_path, const AdapterEnv& env);

}  // namespace tempos::mom
