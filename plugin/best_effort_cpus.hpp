// Which CPUs the best-effort frames are handed to (adapter option `best_effort_cpus`, docs/isolation.md).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "tempos/status.hpp"

namespace tempos::xdp {

using CpuSet = std::set<unsigned>;

// The kernel's CPU list syntax ("0", "0-3", "0,2-3", "" = none), as in /sys/devices/system/cpu/online.
Result<CpuSet> parse_cpu_list(std::string_view text);
std::string format_cpu_list(const CpuSet& cpus);

// The CPUs that serve the interface's receive queues: the effective affinity (/proc/irq/N/effective_affinity_list)
// of every MSI interrupt of its device (/sys/class/net/IF/device/msi_irqs, or the parent device's for virtio).
// Empty for an interface without interrupts of its own (veth, bridge, loopback).
Result<CpuSet> nic_queue_cpus(const std::string& interface);

// The default of `best_effort_cpus`: the online CPUs but the NIC queues' ones; all online CPUs when that leaves
// none (a NIC interrupt on every CPU, or a single CPU).
Result<CpuSet> default_best_effort_cpus(const std::string& interface);

}  // namespace tempos::xdp
