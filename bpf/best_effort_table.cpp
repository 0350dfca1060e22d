#include "best_effort_table.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <string>

#include "map_ops.hpp"
#include "tempos/xdp_abi.h"

namespace tempos::xdp {

Status install_best_effort_cpus(const BestEffortMaps& maps, const std::set<unsigned>& cpus, std::uint32_t queue) {
    bpf_cpumap_val entry{};
    entry.qsize = queue;
    entry.bpf_prog.fd = maps.entry_prog;
    __u32 slot = 0;
    for (const unsigned cpu : cpus) {
        const __u32 key = cpu;
        if (bpf_map_update_elem(maps.cpumap, &key, &entry, BPF_ANY) != 0)
            return map_error("adding CPU " + std::to_string(cpu) + " to the best-effort cpumap", errno);
        if (bpf_map_update_elem(maps.cpu_slots, &slot, &key, BPF_ANY) != 0)
            return map_error("be_cpu_slots", errno);
        ++slot;
    }
    return Status::ok();
}

Status set_topic_class(const BestEffortMaps& maps, std::uint8_t topic, bool strict) {
    const __u32 key = topic;
    const __u32 value = strict ? TEMPOS_CLASS_STRICT : 0;
    if (bpf_map_update_elem(maps.topic_classes, &key, &value, BPF_ANY) != 0)
        return map_error("topic_classes update of topic " + std::to_string(topic), errno);
    return Status::ok();
}

}  // namespace tempos::xdp
