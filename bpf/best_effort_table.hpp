// User-space side of the router's best-effort maps (bpf/best_effort.h): the cpumap's CPUs and the topics' classes.
// Operates on the fds of a loaded tempos_router object (it does not own them).
#pragma once

#include <cstdint>
#include <set>

#include "tempos/status.hpp"

namespace tempos::xdp {

struct BestEffortMaps {
    int cpumap;        // be_cpumap
    int cpu_slots;     // be_cpu_slots
    int entry_prog;    // tempos_best_effort_entry, run by each CPU's cpumap thread
    int topic_classes;
};

// Gives each CPU a cpumap entry (queue of `queue` frames, the entry program) and a slot, in ascending order: the
// router's rodata best_effort_cpu_count must equal cpus.size().
Status install_best_effort_cpus(const BestEffortMaps& maps, const std::set<unsigned>& cpus, std::uint32_t queue);

// strict: the router passes the topic when it does not route it; otherwise it goes to the best-effort CPUs.
Status set_topic_class(const BestEffortMaps& maps, std::uint8_t topic, bool strict);

}  // namespace tempos::xdp
