// The ingress sockets a service manager passes to tempos-mom (socket activation, sd_listen_fds(3)): the unit
// tempos-mom.socket holds the port while tempos-mom restarts, so the datagrams sent meanwhile wait in those
// sockets instead of being refused (docs/restart.md).
#pragma once

#include <vector>

#include "tempos/status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::mom {

// Takes the sockets passed to this process (LISTEN_FDS for this LISTEN_PID), close-on-exec from then on, and
// unsets the variables so that no child inherits them. Empty when none were passed.
Result<std::vector<UniqueFd>> take_inherited_sockets();

}  // namespace tempos::mom
