// Dropping capabilities once started (docs/install.md). They are per thread on Linux: a call changes the calling
// thread only, and a new thread inherits its creator's. So each of tempos-mom's threads, the plugins' own among
// them, drops what it does not need as it starts (after taking SCHED_FIFO), and the control thread, once started,
// keeps only what the adapters still need (Adapter::capabilities_kept). libcap-ng; one library (target
// tempos_thread_capabilities) for the host and the plugins.
#pragma once

#include <cstdint>
#include <string>

#include "tempos/status.hpp"

namespace tempos {

// Drops every capability of the calling thread (effective, permitted, inheritable; the kernel then clears the
// ambient ones) but those of `keep` (a mask of 1 << CAP_*) it has. Nothing to do for a thread without any.
Status drop_thread_capabilities(std::uint64_t keep = 0);

// The calling thread's permitted capabilities, as a mask of 1 << CAP_*.
std::uint64_t thread_permitted_capabilities();

// "CAP_BPF, CAP_NET_ADMIN", or "none".
std::string capability_names(std::uint64_t mask);

}  // namespace tempos
