// The map operations the route tables of both kernel programs share (route_table, fanout_table): errors as
// values, per-CPU reads, and the publication of a frozen inner map into an ARRAY_OF_MAPS slot.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tempos/adapter.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::xdp {

// `what` failed with errno `err` (libbpf's -errno accepted too).
tempos::Status map_error(const std::string& what, int err);

// One slot of a per-CPU map, one value per possible CPU.
template <typename Value>
tempos::Result<std::vector<Value>> read_per_cpu(int fd, std::uint32_t key, const std::string& what) {
    static_assert(sizeof(Value) % 8 == 0, "per-CPU values are laid out 8-byte aligned");
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return map_error("counting possible CPUs", cpus);
    std::vector<Value> per_cpu(static_cast<std::size_t>(cpus), Value{});
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) return map_error("reading " + what, errno);
    return per_cpu;
}

// One slot of a per-CPU map summed over the CPUs: `add(sum, value)` for each CPU's value, from a zero sum.
template <typename Value, typename Add>
tempos::Result<Value> sum_per_cpu(int fd, std::uint32_t key, const std::string& what, Add add) {
    tempos::Result<std::vector<Value>> per_cpu = read_per_cpu<Value>(fd, key, what);
    if (!per_cpu) return per_cpu.status();
    Value sum{};
    for (const Value& value : *per_cpu) add(sum, value);
    return sum;
}

// Freezes the filled inner map (not even user space may write it afterwards), then swaps it into `outer_fd`'s
// slot `key`: the kernel replaces the pointer atomically and frees the old inner map after an RCU grace period,
// so a packet sees the old or the new value, never a mix. `what` names the route in errors.
tempos::Status publish_inner_map(int outer_fd, std::uint32_t key, int inner_fd, const std::string& what);

// A fresh one-entry ARRAY inner map named `name` holding `value` (value_size bytes), frozen: the first half of
// publish_value, for publish_inner_maps.
tempos::Result<tempos::UniqueFd> frozen_value_map(const std::string& name, const void* value, std::uint32_t value_size,
                                                  const std::string& what);

// Swaps each frozen `inner_fds[i]` into `outer_fd`'s slot `keys[i]`, in order, with one BPF_MAP_UPDATE_BATCH: the
// kernel waits for one RCU grace period after the whole batch instead of one after each slot. Each slot's swap is
// atomic on its own, as in publish_inner_map. `published` is how many took effect (the first ones: the kernel stops
// at the first slot it refuses, whose error is returned). A kernel without batch updates of the map gets one update
// per slot. `what(i)` names slot i's route in errors.
tempos::Status publish_inner_maps(int outer_fd, std::span<const std::uint32_t> keys, std::span<const int> inner_fds,
                                  std::uint32_t& published, const std::function<std::string(std::size_t)>& what);

// The single-value form: a fresh one-entry ARRAY inner map named `name` holding `value` (value_size bytes),
// published into `outer_fd`'s slot `key` as above.
tempos::Status publish_value(int outer_fd, std::uint32_t key, const std::string& name, const void* value,
                             std::uint32_t value_size, const std::string& what);

// Empties slot `key` of an ARRAY_OF_MAPS; an empty slot is not an error.
tempos::Status clear_slot(int outer_fd, std::uint32_t key, const std::string& what);

// Swaps the frozen `inner_fd` into `outer_fd`'s slot `key` (publish_inner_map without the freeze).
tempos::Status swap_in(int outer_fd, std::uint32_t key, int inner_fd, const std::string& what);

// Whether slot `key` of an ARRAY_OF_MAPS holds an inner map (a lookup waits for no grace period).
tempos::Result<bool> slot_in_use(int outer_fd, std::uint32_t key, const std::string& what);

// A slot of an ARRAY_OF_MAPS to empty, and what it holds (for errors).
struct SlotToClear {
    int outer_fd;
    std::uint32_t key;
    std::string what;
};

// clear_slot for each of `slots` (of one map or several, distinct), all at once: each delete waits for an RCU
// grace period and an ARRAY_OF_MAPS has no batch delete (BPF_MAP_DELETE_BATCH: ENOTSUPP on 6.18), so the deletes
// run on threads of their own (up to kMaxClearThreads: bounded, as a service may run under a task limit), whose
// waits share grace periods. results[i] is slot i's.
inline constexpr std::size_t kMaxClearThreads = 32;
void clear_slots(std::span<const SlotToClear> slots, std::span<tempos::Status> results);

}  // namespace tempos::xdp
