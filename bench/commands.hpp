// The subcommands of tempos-bench, one <name>_command.cpp each. Each adds itself to `app` as `name` (see
// subcommand.hpp) and puts its exit status in `exit_code` when it runs.
#pragma once

#include <CLI/CLI.hpp>

namespace tempos::bench {

// Per-packet cost of our XDP router vs the thesis's program vs an empty XDP program (BPF_PROG_TEST_RUN).
void register_prog_command(CLI::App& app, const char* name, int& exit_code);
// Delivered Mpps and loss of the XDP strict path, the MoM's socket path and a bare recvmmsg/sendmmsg
// forwarder, under offered load from a live-frames generator.
void register_throughput_command(CLI::App& app, const char* name, int& exit_code);
// tempos-pub -> tempos-sub one-way latency at a fixed event rate, without a broker and through tempos-mom (XDP
// strict, socket strict, socket best-effort), and the isolation of strict traffic from a best-effort flood
// rising beyond the socket path's saturation.
void register_latency_command(CLI::App& app, const char* name, int& exit_code);
// Delivered copies per second of a strict topic with G = 1, 2, 4, 8 subscription groups, through the kernel (XDP
// router for G = 1, the TC fan-out program for G >= 2) vs the MoM's socket path. Method: docs/fanout.md.
void register_fanout_command(CLI::App& app, const char* name, int& exit_code);
// Strict events lost and the longest delivery gap across a restart (SIGTERM), a crash (SIGKILL) and an upgrade of
// tempos-mom, with and without persist, beside the idle inter-arrival p99 (docs/restart.md).
void register_restart_command(CLI::App& app, const char* name, int& exit_code);
// Propagation of a topic change from etcd to three brokers' kernel paths, and a broker's full resync (issue 16).
void register_cluster_command(CLI::App& app, const char* name, int& exit_code);
// Latency, throughput and isolation of Mosquitto and NATS on the project's topology (peers/).
void register_peers_command(CLI::App& app, const char* name, int& exit_code);
// Runs every other registered subcommand as a child process (--json), --runs times, interleaved, and merges
// their flat JSON objects into one: each numeric field is the median over the runs, with `<field>_min` and
// `<field>_max`; every run's raw object is kept under "runs". A subcommand that fails or a required field that
// is missing is reported under "errors" / "missing_fields" (exit status 1).
void register_all_command(CLI::App& app, const char* name, int& exit_code);

}  // namespace tempos::bench
