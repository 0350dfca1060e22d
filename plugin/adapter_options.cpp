#include "adapter_options.hpp"

namespace tempos::xdp {

Result<AdapterOptions> parse_adapter_options(const std::map<std::string, std::string>& options) {
    AdapterOptions parsed;
    for (const auto& [key, value] : options) {
        if (key == "xdp_mode") {
            const auto mode = parse_xdp_mode(value);
            if (!mode)
                return Status::error(ErrorCode::invalid_argument,
                                     "xdp_mode = \"" + value + "\": expected auto, native, generic or off");
            parsed.mode = *mode;
        } else {
            return Status::error(ErrorCode::invalid_argument,
                                 "unknown option \"" + key + "\" for the xdp adapter (known: xdp_mode)");
        }
    }
    return parsed;
}

}  // namespace tempos::xdp
