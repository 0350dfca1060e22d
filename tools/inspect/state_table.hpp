// tempos-inspect's default output: the RouterState as aligned text tables, for a person asking why an event did
// not arrive.
#pragma once

#include <string>

#include "router_state.hpp"

namespace tempos::inspect {

std::string to_table(const RouterState& state);

}  // namespace tempos::inspect
