// How the XDP program is attached: the value of the adapter option `xdp_mode`.
#pragma once

#include <optional>
#include <string_view>

namespace tempos::xdp {

enum class XdpMode {
    automatic,  // native, falling back to generic, falling back to the socket path
    native,     // driver mode only (XDP_FLAGS_DRV_MODE)
    generic,    // generic/SKB mode only (XDP_FLAGS_SKB_MODE)
    off,        // nothing attached: every topic through sockets
};

std::optional<XdpMode> parse_xdp_mode(std::string_view text);
// "auto", "native", "generic", "off": the same words the option accepts and stats() reports.
std::string_view to_string(XdpMode mode);

}  // namespace tempos::xdp
