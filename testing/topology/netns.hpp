// Entering a named network namespace (/run/netns/NAME, as `ip netns add` creates) from C++: the calling thread
// moves in, runs a function, and moves back. Sockets created inside stay in that namespace.
#pragma once

#include <functional>
#include <string>

#include "tempos/status.hpp"

namespace tempos::testkit {

// Runs `fn` with the calling thread in network namespace `ns`, then moves the thread back. Returns fn's
// Status, or why the namespace could not be entered or left.
Status run_in_netns(const std::string& ns, const std::function<Status()>& fn);

}  // namespace tempos::testkit
