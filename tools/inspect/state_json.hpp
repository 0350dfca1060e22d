// tempos-inspect --json: the RouterState with stable field names (docs/inspect.md lists them). Counter fields
// keep the names of include/tempos/xdp_abi.h.
#pragma once

#include <nlohmann/json.hpp>

#include "router_state.hpp"

namespace tempos::inspect {

nlohmann::ordered_json to_json(const RouterState& state);

}  // namespace tempos::inspect
