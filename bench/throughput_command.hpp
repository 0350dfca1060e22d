// `tempos-bench throughput`: delivered Mpps and loss of the XDP strict path, the MoM's socket path and a bare
// recvmmsg/sendmmsg forwarder, under offered load from a live-frames generator.
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::bench {

void register_throughput_command(CLI::App& app, const char* name, int& exit_code);

}  // namespace tempos::bench
