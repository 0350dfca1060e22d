// Loading adapters through Boost.DLL: the good plugin, and every way a library can be refused.
#include <dlfcn.h>
#include <sys/capability.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "logging.hpp"
#include "plugin_loader.hpp"
#include "plugins/recording_test_support.hpp"

namespace tempos::mom {
namespace {

using tempos::test::plugin_path;

AdapterEnv test_env() { return LogContext(spdlog::level::warn).adapter_env(); }

// True while the library is mapped in this process (RTLD_NOLOAD never maps it).
bool library_is_loaded(const std::filesystem::path& path) {
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (handle == nullptr) return false;
    ::dlclose(handle);
    return true;
}

// What load_adapter says about `path` when file permissions apply to the caller: it runs in a thread whose
// effective capabilities lack CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (capabilities are per thread), so a file
// or directory the modes forbid is refused even when the test runs as root.
Status load_without_permission_override(const std::filesystem::path& path) {
    Status status;
    std::thread([&] {
        cap_t caps = cap_get_proc();
        const cap_value_t overrides[] = {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH};
        const bool dropped = caps != nullptr && cap_set_flag(caps, CAP_EFFECTIVE, 2, overrides, CAP_CLEAR) == 0 &&
                             cap_set_proc(caps) == 0;
        if (caps != nullptr) cap_free(caps);
        status = dropped ? load_adapter(path, test_env()).status()
                         : Status::error(ErrorCode::internal, "cannot drop CAP_DAC_OVERRIDE in the test thread");
    }).join();
    return status;
}

TEST(PluginLoader, LoadsTheRecordingAdapter) {
    auto loaded = load_adapter(plugin_path("librecording_adapter.so"), test_env());
    ASSERT_TRUE(loaded.is_ok()) << loaded.message();
    EXPECT_EQ(loaded->adapter().name(), "recording");
}

TEST(PluginLoader, KeepsTheLibraryLoadedExactlyAsLongAsTheAdapter) {
    const auto path = plugin_path("librecording_adapter.so");
    ASSERT_FALSE(library_is_loaded(path)) << "another test leaked the plugin";
    {
        auto loaded = load_adapter(path, test_env());
        ASSERT_TRUE(loaded.is_ok()) << loaded.message();
        LoadedAdapter moved = std::move(*loaded);
        EXPECT_TRUE(library_is_loaded(path));
        // The adapter's virtual calls run plugin code: still mapped.
        EXPECT_EQ(moved->name(), "recording");
        EXPECT_TRUE(moved->stats().topics.empty());
    }
    EXPECT_FALSE(library_is_loaded(path));
}

TEST(PluginLoader, AdapterStatusCrossesTheBoundaryAsAValue) {
    auto loaded = load_adapter(plugin_path("librecording_adapter.so"), test_env());
    ASSERT_TRUE(loaded.is_ok()) << loaded.message();
    const Status status = loaded->adapter().configure_qos(TopicConfig{});
    EXPECT_EQ(status.code(), ErrorCode::not_connected);
    EXPECT_NE(status.message().find("before connect"), std::string::npos);
}

TEST(PluginLoader, MissingFileIsAnErrorNamingThePath) {
    const auto path = plugin_path("libdoes_not_exist.so");
    auto loaded = load_adapter(path, test_env());
    ASSERT_FALSE(loaded.is_ok());
    const std::string& message = loaded.message();
    EXPECT_EQ(loaded.code(), ErrorCode::not_found) << message;
    EXPECT_NE(message.find("not found"), std::string::npos) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

// A plugin the process may not read is not "not found": the error says permission denied, with the path.
TEST(PluginLoader, AnUnreadablePluginIsPermissionDenied) {
    tempos::test::TempDir dir;
    const auto unreadable = dir.path() / "librecording_copy.so";
    std::filesystem::copy_file(plugin_path("librecording_adapter.so"), unreadable);
    std::filesystem::permissions(unreadable, std::filesystem::perms::none);
    const Status status = load_without_permission_override(unreadable);
    EXPECT_EQ(status.code(), ErrorCode::permission_denied) << status.message();
    EXPECT_EQ(status.message(), "cannot read plugin library " + unreadable.string() + ": Permission denied");
}

// The same for a readable plugin under a directory the process may not traverse (a 0700 home directory of
// another user, a checkout in `mktemp -d`).
TEST(PluginLoader, APluginInAnUntraversableDirectoryIsPermissionDenied) {
    tempos::test::TempDir dir;
    const auto locked = dir.path() / "locked";
    std::filesystem::create_directory(locked);
    const auto plugin = locked / "librecording_copy.so";
    std::filesystem::copy_file(plugin_path("librecording_adapter.so"), plugin);
    std::filesystem::permissions(locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const Status status = load_without_permission_override(plugin);
    std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
    EXPECT_EQ(status.code(), ErrorCode::permission_denied) << status.message();
    EXPECT_EQ(status.message(), "cannot read plugin library " + plugin.string() + ": Permission denied");
    // With the directory traversable again the same file loads: the refusal was the directory's.
    EXPECT_TRUE(load_without_permission_override(plugin).is_ok());
}

TEST(PluginLoader, LibraryWithoutFactoryIsRefused) {
    auto loaded = load_adapter(plugin_path("libno_factory_adapter.so"), test_env());
    ASSERT_FALSE(loaded.is_ok());
    const std::string& message = loaded.message();
    EXPECT_EQ(loaded.code(), ErrorCode::invalid_argument) << message;
    EXPECT_NE(message.find("tempos_create_adapter"), std::string::npos) << message;
}

TEST(PluginLoader, WrongAbiVersionIsRefusedBeforeTheFactoryRuns) {
    // That plugin's factory aborts the process: reaching the assertions proves it was never called.
    auto loaded = load_adapter(plugin_path("libwrong_abi_adapter.so"), test_env());
    ASSERT_FALSE(loaded.is_ok());
    const std::string& message = loaded.message();
    EXPECT_EQ(loaded.code(), ErrorCode::invalid_argument) << message;
    EXPECT_NE(message.find("ABI version " + std::to_string(kAdapterAbiVersion + 1)), std::string::npos) << message;
    EXPECT_NE(message.find("needs version " + std::to_string(kAdapterAbiVersion)), std::string::npos) << message;
    EXPECT_FALSE(library_is_loaded(plugin_path("libwrong_abi_adapter.so")));
}

TEST(PluginLoader, AFileThatIsNotALibraryIsAnError) {
    tempos::test::TempDir dir;
    const auto fake = dir.path() / "libfake.so";
    std::ofstream text(fake);
    for (int i = 0; i < 8; ++i) text << "not an ELF file\n";  // longer than an ELF header: dlopen reads one
    text.close();
    auto loaded = load_adapter(fake, test_env());
    ASSERT_FALSE(loaded.is_ok());
    EXPECT_EQ(loaded.code(), ErrorCode::invalid_argument) << loaded.message();
    EXPECT_NE(loaded.message().find("cannot load"), std::string::npos) << loaded.message();
    // dlopen's own reason, not Boost.DLL's "Bad file descriptor".
    EXPECT_NE(loaded.message().find("invalid ELF header"), std::string::npos) << loaded.message();
}

TEST(PluginLoader, FileNamesResolveInThePluginDirAbsolutePathsStay) {
    EXPECT_EQ(resolve_plugin_path("libx.so", "/opt/tempos/lib"), std::filesystem::path("/opt/tempos/lib/libx.so"));
    EXPECT_EQ(resolve_plugin_path("/usr/lib/liby.so", "/opt/tempos/lib"), std::filesystem::path("/usr/lib/liby.so"));
}

TEST(PluginLoader, DefaultPluginDirIsLibNextToTheBinary) {
    const auto exe = std::filesystem::read_symlink("/proc/self/exe");
    EXPECT_EQ(default_plugin_dir(), (exe.parent_path().parent_path() / "lib").lexically_normal());
}

}  // namespace
}  // namespace tempos::mom
