// `tempos-bench latency`: tempos-pub -> tempos-sub one-way latency at a fixed event rate, without a broker and
// through tempos-mom (XDP strict, socket strict, socket best-effort), and the isolation of strict traffic
// from a best-effort flood rising beyond the socket path's saturation.
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::bench {

void register_latency_command(CLI::App& app, const char* name, int& exit_code);

}  // namespace tempos::bench
