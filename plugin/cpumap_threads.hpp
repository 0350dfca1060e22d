// The best-effort cpumap's kernel threads (docs/isolation.md): one per CPU entry, created when the entry is added
// and named "cpumap/<cpu>/map:<map id>" by the kernel (kernel/bpf/cpumap.c). Each builds the skbs of the
// best-effort frames queued to its CPU and runs the UDP stack for them. Under a flood the NAPI polls that serve
// strict frames run in ksoftirqd, a normal thread as well: at the kernel's nice 0 the two share a CPU evenly and
// the strict receive ring overflows. At nice 19 a cpumap thread gets the time ksoftirqd and everything else
// leaves (option best_effort_nice).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>

#include "best_effort_cpus.hpp"
#include "tempos/status.hpp"

namespace tempos::xdp {

// The thread of each CPU of `cpus` in the cpumap `map_id`, found by name under `proc` (/proc, whose entries are
// every process and kernel thread). Errors: not_found (a CPU without its thread), system_error (proc unreadable).
Result<std::map<unsigned, pid_t>> find_cpumap_threads(std::uint32_t map_id, const CpuSet& cpus,
                                                      const std::filesystem::path& proc = "/proc");

// Gives each of those threads the nice value `nice` (setpriority; raising it needs no privilege on a thread of
// one's own user, a kernel thread needs root or CAP_SYS_NICE). Errors: as above, and system_error from
// setpriority.
Status renice_cpumap_threads(std::uint32_t map_id, const CpuSet& cpus, int nice,
                             const std::filesystem::path& proc = "/proc");

}  // namespace tempos::xdp
