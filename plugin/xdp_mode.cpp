#include "xdp_mode.hpp"

namespace tempos::xdp {

std::optional<XdpMode> parse_xdp_mode(std::string_view text) {
    if (text == "auto") return XdpMode::automatic;
    if (text == "native") return XdpMode::native;
    if (text == "generic") return XdpMode::generic;
    if (text == "off") return XdpMode::off;
    return std::nullopt;
}

std::string_view to_string(XdpMode mode) {
    switch (mode) {
        case XdpMode::automatic: return "auto";
        case XdpMode::native: return "native";
        case XdpMode::generic: return "generic";
        case XdpMode::off: return "off";
    }
    return "unknown";
}

}  // namespace tempos::xdp
