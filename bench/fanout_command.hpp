// tempos-bench fanout: delivered copies per second of a strict topic with G = 1, 2, 4, 8 subscription groups,
// through the kernel (XDP router for G = 1, the TC fan-out program for G >= 2) vs the MoM's socket path
// (xdp_mode off). Method and figures: docs/fanout.md.
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::bench {

void register_fanout_command(CLI::App& app, const char* name, int& exit_code);

}  // namespace tempos::bench
