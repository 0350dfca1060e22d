// The adapter-specific keys of ChannelConfig.options, validated.
#pragma once

#include <map>
#include <string>

#include "tempos/adapter.hpp"
#include "xdp_mode.hpp"

namespace tempos::xdp {

struct AdapterOptions {
    XdpMode mode = XdpMode::automatic;
};

// Unknown keys are an error (a typo such as `xdp_mod` must not silently fall back to the default).
Result<AdapterOptions> parse_adapter_options(const std::map<std::string, std::string>& options);

}  // namespace tempos::xdp
