// What the socket unit tempos-mom.socket does for tempos-mom (docs/restart.md), for the tests on a host without
// systemd as PID 1: tempos-mom's two ingress sockets (UDP, SO_REUSEPORT, bound to [mom] listen) bound in a
// namespace and held by a process of their own (`tempos-testkit sockets hold`) while tempos-mom stops and starts;
// each tempos-mom started with them (`mom run --sockets-from`) gets them by socket activation (LISTEN_FDS).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tempos/status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::testkit {

// `count` UDP sockets with SO_REUSEPORT bound to `listen` ("IP:PORT" or "[IPv6]:PORT", dual-stack as [mom]'s
// default v6only = false) in network namespace `netns` ("": ours).
Result<std::vector<UniqueFd>> bind_listen_sockets(const std::string& netns, const std::string& listen, int count = 2);

// Hands `sockets` (SCM_RIGHTS) to every client of the Unix socket created at `path`, until SIGTERM or SIGINT
// (blocked by the caller) arrives; then removes `path`.
Status serve_sockets(const std::filesystem::path& path, const std::vector<UniqueFd>& sockets);

// The sockets of the holder serving at `path`.
Result<std::vector<UniqueFd>> fetch_sockets(const std::filesystem::path& path);

}  // namespace tempos::testkit
