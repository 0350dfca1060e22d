// tempos-mom: the command line around tempos::mom::Mom.
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "adapter_check.hpp"
#include "cluster_node.hpp"
#include "config.hpp"
#include "fatal.hpp"
#include "inherited_sockets.hpp"
#include "logging.hpp"
#include "loop_check.hpp"
#include "mom.hpp"
#include "pin_set.hpp"
#include "plugin_loader.hpp"
#include "signal_watcher.hpp"
#include "tempos/thread_capabilities.hpp"

namespace {
constexpr int kExitConfigError = 2;
constexpr int kExitStartError = 1;

struct Owner {
    uid_t uid;
    gid_t gid;
};

// "NAME" (its primary group), "UID" (that user's group if the uid is known, else the same number) or "UID:GID".
std::optional<Owner> resolve_owner(const std::string& spec) {
    char* end = nullptr;
    const unsigned long uid = std::strtoul(spec.c_str(), &end, 10);
    if (end != spec.c_str() && (*end == '\0' || *end == ':')) {
        if (*end == ':') {
            char* gid_end = nullptr;
            const unsigned long gid = std::strtoul(end + 1, &gid_end, 10);
            if (gid_end == end + 1 || *gid_end != '\0') return std::nullopt;
            return Owner{static_cast<uid_t>(uid), static_cast<gid_t>(gid)};
        }
        const passwd* known = ::getpwuid(static_cast<uid_t>(uid));
        return Owner{static_cast<uid_t>(uid), known ? known->pw_gid : static_cast<gid_t>(uid)};
    }
    const passwd* user = ::getpwnam(spec.c_str());
    if (!user) return std::nullopt;
    return Owner{user->pw_uid, user->pw_gid};
}
}  // namespace

int main(int argc, char** argv) {
    using namespace tempos::mom;
    CLI::App app{"tempos-mom: the TEMPOS message-oriented middleware host. Receives UDP events (first payload byte\n"
                 "= topic), queues strict topics to the real-time SQ dispatcher and best-effort topics to the BQ\n"
                 "dispatcher, and delivers them through the adapters it loads at run time.\n"
                 "Signals: SIGHUP re-reads the config and applies topic changes; SIGTERM/SIGINT stop cleanly."};
    std::filesystem::path config_file;
    bool check_only = false;
    std::filesystem::path plugin_dir = default_plugin_dir();
    std::string level_name = "info";
    std::string release_interface;
    std::string pins_owner;
    CLI::Option* config_option = app.add_option("-c,--config", config_file, "Controller TOML file (see docs/config.md)");
    app.add_option("--release-pins", release_interface,
                   "Remove everything the xdp adapter pinned for INTERFACE (persist = true, docs/restart.md) and exit:\n"
                   "its router leaves the interface unless a running tempos-mom still holds it")
        ->option_text("INTERFACE")
        ->excludes(config_option);
    app.add_option("--prepare-pins", pins_owner,
                   "As root, before a tempos-mom that runs as USER with persist = true (the systemd drop-in\n"
                   "tempos-mom.service.d/persist.conf, docs/restart.md): mount bpffs if absent, make /sys/fs/bpf\n"
                   "searchable, give /sys/fs/bpf/tempos and every pin below it to USER; then exit")
        ->option_text("USER|UID[:GID]")
        ->excludes(config_option);
    app.add_flag("--check", check_only,
                 "Validate the config and exit: 0 if valid, else print file:line: why. Loads the enabled adapters\n"
                 "(without connecting them: no privileges needed) to check their options and topics too");
    app.add_option("--plugin-dir", plugin_dir,
                   "Directory for [[adapters]] library file names (default: ../lib next to this binary)")
        ->capture_default_str();
    app.add_option("--log-level", level_name, "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
        ->capture_default_str();
    app.set_version_flag("--version", std::string("tempos-mom " TEMPOS_VERSION " (adapter ABI ") +
                                          std::to_string(tempos::kAdapterAbiVersion) + ")");
    CLI11_PARSE(app, argc, argv);
    if (!release_interface.empty()) {
        const tempos::Result<std::vector<std::string>> released = tempos::xdp::release_pins(release_interface);
        if (!released) {
            std::fprintf(stderr, "%s\n", tempos::describe(released.status()).c_str());
            return kExitStartError;
        }
        for (const std::string& pin : *released) std::printf("removed %s\n", pin.c_str());
        std::printf("%s: %zu pin(s) removed\n", release_interface.c_str(), released->size());
        return 0;
    }
    if (!pins_owner.empty()) {
        const std::optional<Owner> owner = resolve_owner(pins_owner);
        if (!owner) {
            std::fprintf(stderr, "--prepare-pins: no user \"%s\"\n", pins_owner.c_str());
            return kExitConfigError;
        }
        const tempos::Result<std::vector<std::string>> prepared = tempos::xdp::prepare_pin_root(owner->uid, owner->gid);
        if (!prepared) {
            std::fprintf(stderr, "%s\n", tempos::describe(prepared.status()).c_str());
            return kExitStartError;
        }
        for (const std::string& step : *prepared) std::printf("%s\n", step.c_str());
        return 0;
    }
    if (config_file.empty()) {
        std::fprintf(stderr, "%s\n%s", "--config is required (or --release-pins INTERFACE, --prepare-pins USER)",
                     app.help().c_str());
        return kExitConfigError;
    }

    const LogContext log(spdlog::level::from_str(level_name));
    auto logger = log.make_logger("main");

    // Every error is printed and logged as "message (code)" (tempos::describe): file:line first for the config's.
    const tempos::Result<MomConfig> loaded = load_config(config_file);
    if (!loaded) {
        std::fprintf(stderr, "%s\n", tempos::describe(loaded.status()).c_str());
        return kExitConfigError;
    }
    const MomConfig& config = *loaded;
    if (check_only) {
        if (const tempos::Status loops = check_no_self_subscriber(config); !loops) {
            std::fprintf(stderr, "%s\n", tempos::describe(loops).c_str());
            return kExitConfigError;
        }
        if (const tempos::Status refused = check_with_adapters(config, plugin_dir, log.adapter_env()); !refused) {
            std::fprintf(stderr, "%s\n", tempos::describe(refused).c_str());
            return kExitConfigError;
        }
        std::printf("%s: OK (%zu adapter(s), %zu topic(s); the enabled adapters accept them)\n", config_file.c_str(),
                    config.adapters.size(), config.topics.size());
        return 0;
    }

    // Before any thread exists, so all of them inherit the blocked signals.
    tempos::Result<SignalWatcher> signals = SignalWatcher::open();
    if (!signals) {
        logger->critical("cannot watch signals: {}", tempos::describe(signals.status()));
        return kExitStartError;
    }
    // A fatal error on any thread (fatal.hpp) wakes the loop below as SIGTERM would.
    set_fatal_wakeup([] { ::kill(::getpid(), SIGTERM); });
    // tempos-mom.socket's sockets, when the service manager passed them (docs/restart.md).
    tempos::Result<std::vector<tempos::UniqueFd>> inherited = take_inherited_sockets();
    if (!inherited) {
        logger->critical("cannot start: {}", tempos::describe(inherited.status()));
        return kExitStartError;
    }
    MomOptions options{plugin_dir};
    options.inherited_sockets = std::move(*inherited);
    Mom mom(std::move(options), log);
    // [cluster]: the topics in etcd join the file's once running (docs/cluster.md).
    std::unique_ptr<tempos::cluster::ClusterNode> cluster;
    if (config.cluster)
        cluster = std::make_unique<tempos::cluster::ClusterNode>(*config.cluster, config.listen.port, mom, log);
    if (const tempos::Status started = mom.start(config); !started) {
        logger->critical("cannot start: {}", tempos::describe(started));
        mom.stop();
        return kExitStartError;
    }
    // Attached and configured, every other thread without capabilities: this one keeps what the adapters
    // still need for reloads and for closing (docs/install.md).
    const std::uint64_t kept = mom.capabilities_kept() & tempos::thread_permitted_capabilities();
    if (const tempos::Status dropped = tempos::drop_thread_capabilities(kept); !dropped)
        logger->error("capabilities not dropped: {}", tempos::describe(dropped));
    else
        logger->info("capabilities dropped; the control thread keeps {}", tempos::capability_names(kept));
    // After the drop: the cluster's threads start from a thread that keeps only what reloads need, and drop the
    // rest themselves (cluster_watcher.cpp).
    if (cluster) cluster->start(tempos::cluster::broker_info(config, mom.ingress_address(), mom.adapter_stats()));
    for (;;) {
        const auto signal = signals->wait(std::chrono::milliseconds(1000));
        if (fatal_reason()) break;
        if (!signal) continue;
        if (*signal == ControlSignal::terminate) break;
        (void)mom.reload();  // logged; a refused reload keeps the running configuration
        if (fatal_reason()) break;
    }
    if (cluster) cluster->stop();
    mom.stop();
    if (const auto fatal = fatal_reason()) {
        logger->critical("exiting with status {}: {}", kExitFatal, *fatal);
        std::fprintf(stderr, "tempos-mom: %s\n", fatal->c_str());
        return kExitFatal;
    }
    return 0;
}
