// Adapters as the config names them: loading one with errors located in the config, and `tempos-mom --check`
// beyond the TOML: every enabled adapter is loaded (never connected) and asked whether it accepts its options
// and every topic, so a configuration --check accepts does not fail at start on an adapter's own rule (an unknown
// option, the kernel fan-out's 16 groups). Needs no privileges.
#pragma once

#include <filesystem>
#include <string>

#include "config.hpp"
#include "plugin_loader.hpp"

namespace tempos::mom {

struct ConfiguredAdapter {
    LoadedAdapter loaded;
    std::filesystem::path path;  // the library it was loaded from
    ChannelConfig channel;       // config.channel() with the adapter's options
};

// Loads `adapter` of `config`; an error keeps the loader's code and reads "file:line: adapter 'name': why" (the
// line of its name).
Result<ConfiguredAdapter> load_configured_adapter(const MomConfig& config, const AdapterConfig& adapter,
                                                  const std::filesystem::path& plugin_dir, const AdapterEnv& env);

// The first refusal, with the adapter's own code, as "file:line: adapter 'name' ..."; ok when every adapter
// accepts everything.
Status check_with_adapters(const MomConfig& config, const std::filesystem::path& plugin_dir, const AdapterEnv& env);

}  // namespace tempos::mom
