// The adapter-specific keys of ChannelConfig.options, validated.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "best_effort_cpus.hpp"
#include "tempos/adapter.hpp"
#include "tempos/xdp_abi.h"
#include "xdp_mode.hpp"

namespace tempos::xdp {

// The kernel's bound on a cpumap entry's queue (kernel/bpf/cpumap.c).
inline constexpr std::uint32_t kMaxBestEffortQueue = 16384;

// How the router is put on the interface (option `xdp_attach`, docs/coexistence.md).
enum class XdpAttachMethod {
    link,    // a bpf_link owned by the process: exclusive, leaves with the process (even on SIGKILL)
    libxdp,  // libxdp: in its multi-program dispatcher beside other libxdp programs where the kernel allows it
             // (freplace), else alone through netlink; outlives the process until detached
};
std::string_view to_string(XdpAttachMethod method);

inline constexpr unsigned kMaxXdpPriority = 1000;

struct AdapterOptions {
    XdpMode mode = XdpMode::automatic;
    XdpAttachMethod attach = XdpAttachMethod::link;
    std::optional<unsigned> priority;  // libxdp's run priority (lower runs first); libxdp's default 50 when absent
    // Where the router sends best-effort frames (docs/isolation.md). nullopt: the default set, computed at
    // connect (default_best_effort_cpus); an empty set ("") turns the cpumap off.
    std::optional<CpuSet> best_effort_cpus;
    std::uint32_t best_effort_queue = 2048;  // frames per best-effort CPU's cpumap queue
    int best_effort_nice = 0;                // the cpumap threads' nice value, 0..19 (cpumap_threads.hpp)
    // Pin the router's link and maps so that the kernel path outlives the process and the next start takes them
    // over without a gap (docs/restart.md). Off by default: a pinned router keeps routing on its last routes after
    // tempos-mom is gone, which must be asked for.
    bool persist = false;
};

// Unknown keys are an error (a typo such as `xdp_mod` must not silently fall back to the default), and so is an
// option that would have no effect (`xdp_priority` without xdp_attach = "libxdp") or cannot work (`persist` with
// xdp_attach = "libxdp" or xdp_mode = "off").
Result<AdapterOptions> parse_adapter_options(const std::map<std::string, std::string>& options);

}  // namespace tempos::xdp
