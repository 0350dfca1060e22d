#include "plugin_loader.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <exception>
#include <system_error>

#include "tempos/system_status.hpp"

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

// Opening the file says why it cannot be loaded (ENOENT, EACCES on the file or on a directory on the way), which
// dlopen does not: Boost.DLL reports every dlopen failure as "Bad file descriptor".
Status check_readable(const std::string& where) {
    const int fd = ::open(where.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
        return Status::ok();
    }
    const int err = errno;
    if (error_code_of_errno(err) == ErrorCode::not_found)
        return system_status("plugin library not found: " + where, err);
    return system_status("cannot read plugin library " + where, err);
}

Result<LoadedAdapter> load_checked(const std::filesystem::path& path, const AdapterEnv& env) {
    const std::string where = path.string();
    if (Status readable = check_readable(where); !readable) return readable;

    auto library = std::make_shared<boost::dll::shared_library>();
    std::error_code ec;
    library->load(path, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    if (ec) {
        const char* why = ::dlerror();  // dlopen's own reason, e.g. "invalid ELF header"
        return Status::error(ErrorCode::invalid_argument,
                             "cannot load plugin library " + where + ": " + (why ? why : ec.message()));
    }

    // The version first: every other symbol's meaning depends on it.
    if (!library->has(kAbiVersionSymbol))
        return Status::error(ErrorCode::invalid_argument,
                             "plugin " + where + " does not export " + kAbiVersionSymbol + " (not a tempos adapter)");
    const std::uint32_t version = library->get_alias<const std::uint32_t>(kAbiVersionSymbol);
    if (version != kAdapterAbiVersion)
        return Status::error(ErrorCode::invalid_argument,
                             "plugin " + where + " has adapter ABI version " + std::to_string(version) +
                                 ", this tempos-mom needs version " + std::to_string(kAdapterAbiVersion) +
                                 "; rebuild the plugin");

    if (!library->has(kFactorySymbol))
        return Status::error(ErrorCode::invalid_argument,
                             "plugin " + where + " does not export the factory " + kFactorySymbol);
    AdapterFactory& factory = library->get_alias<AdapterFactory>(kFactorySymbol);
    std::unique_ptr<Adapter> adapter(factory(env));
    if (!adapter)
        return Status::error(ErrorCode::internal, "plugin " + where + ": " + kFactorySymbol + " returned no adapter");
    return LoadedAdapter(std::move(library), std::move(adapter));
}

}  // namespace

Result<LoadedAdapter> load_adapter(const std::filesystem::path& library_path, const AdapterEnv& env) {
    try {
        return load_checked(library_path, env);
    } catch (const std::exception& e) {
        return Status::error(ErrorCode::internal, "cannot load plugin " + library_path.string() + ": " + e.what());
    }
}

}  // namespace tempos::mom
