// Loading adapters through Boost.DLL: the good plugin, and every way a library can be refused.
#include <dlfcn.h>

#include <fstream>

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

TEST(PluginLoader, LoadsTheRecordingAdapter) {
    auto loaded = load_adapter(plugin_path("librecording_adapter.so"), test_env());
    ASSERT_TRUE(std::holds_alternative<LoadedAdapter>(loaded)) << std::get<PluginError>(loaded).message;
    EXPECT_EQ(std::get<LoadedAdapter>(loaded)->name(), "recording");
}

TEST(PluginLoader, KeepsTheLibraryLoadedExactlyAsLongAsTheAdapter) {
    const auto path = plugin_path("librecording_adapter.so");
    ASSERT_FALSE(library_is_loaded(path)) << "another test leaked the plugin";
    {
        auto loaded = load_adapter(path, test_env());
        ASSERT_TRUE(std::holds_alternative<LoadedAdapter>(loaded)) << std::get<PluginError>(loaded).message;
        LoadedAdapter moved = std::move(std::get<LoadedAdapter>(loaded));
        EXPECT_TRUE(library_is_loaded(path));
        // The adapter's virtual calls run plugin code: still mapped.
        EXPECT_EQ(moved->name(), "recording");
        EXPECT_TRUE(moved->stats().topics.empty());
    }
    EXPECT_FALSE(library_is_loaded(path));
}

TEST(PluginLoader, AdapterStatusCrossesTheBoundaryAsAValue) {
    auto loaded = load_adapter(plugin_path("librecording_adapter.so"), test_env());
    ASSERT_TRUE(std::holds_alternative<LoadedAdapter>(loaded));
    const Status status = std::get<LoadedAdapter>(loaded)->configure_qos(TopicConfig{});
    EXPECT_EQ(status.code(), ErrorCode::not_connected);
    EXPECT_NE(status.message().find("before connect"), std::string::npos);
}

TEST(PluginLoader, MissingFileIsAnErrorNamingThePath) {
    const auto path = plugin_path("libdoes_not_exist.so");
    auto loaded = load_adapter(path, test_env());
    ASSERT_TRUE(std::holds_alternative<PluginError>(loaded));
    const std::string& message = std::get<PluginError>(loaded).message;
    EXPECT_NE(message.find("not found"), std::string::npos) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
}

TEST(PluginLoader, LibraryWithoutFactoryIsRefused) {
    auto loaded = load_adapter(plugin_path("libno_factory_adapter.so"), test_env());
    ASSERT_TRUE(std::holds_alternative<PluginError>(loaded));
    const std::string& message = std::get<PluginError>(loaded).message;
    EXPECT_NE(message.find("tempos_create_adapter"), std::string::npos) << message;
}

TEST(PluginLoader, WrongAbiVersionIsRefusedBeforeTheFactoryRuns) {
    // That plugin's factory aborts the process: reaching the assertions proves it was never called.
    auto loaded = load_adapter(plugin_path("libwrong_abi_adapter.so"), test_env());
    ASSERT_TRUE(std::holds_alternative<PluginError>(loaded));
    const std::string& message = std::get<PluginError>(loaded).message;
    EXPECT_NE(message.find("ABI version " + std::to_string(kAdapterAbiVersion + 1)), std::string::npos) << message;
    EXPECT_NE(message.find("needs version " + std::to_string(kAdapterAbiVersion)), std::string::npos) << message;
    EXPECT_FALSE(library_is_loaded(plugin_path("libwrong_abi_adapter.so")));
}

TEST(PluginLoader, AFileThatIsNotALibraryIsAnError) {
    tempos::test::TempDir dir;
    const auto fake = dir.path() / "libfake.so";
    std::ofstream(fake) << "not an ELF file\n";
    auto loaded = load_adapter(fake, test_env());
    ASSERT_TRUE(std::holds_alternative<PluginError>(loaded));
    EXPECT_NE(std::get<PluginError>(loaded).message.find("cannot load"), std::string::npos);
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
