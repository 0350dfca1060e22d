#include "map_ops.hpp"

#include <cstring>

#include "tempos/unique_fd.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>
#include <thread>

namespace tempos::xdp {

tempos::Status map_error(const std::string& what, int err) {
    if (err < 0) err = -err;
    return tempos::Status::error(tempos::ErrorCode::system_error, what + ": " + std::strerror(err));
}

tempos::Status publish_inner_map(int outer_fd, std::uint32_t key, int inner_fd, const std::string& what) {
    if (bpf_map_freeze(inner_fd) != 0) return map_error("freezing " + what, errno);
    const std::uint32_t value = static_cast<std::uint32_t>(inner_fd);
    if (bpf_map_update_elem(outer_fd, &key, &value, BPF_ANY) != 0) return map_error("publishing " + what, errno);
    return tempos::Status::ok();
}

tempos::Result<tempos::UniqueFd> frozen_value_map(const std::string& name, const void* value, std::uint32_t value_size,
                                                  const std::string& what) {
    tempos::UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, name.c_str(), sizeof(std::uint32_t), value_size, 1, nullptr));
    if (inner.get() < 0) return map_error("creating the inner map of " + what, inner.get());
    const std::uint32_t zero = 0;
    if (bpf_map_update_elem(inner.get(), &zero, value, BPF_ANY) != 0) return map_error("writing " + what, errno);
    if (bpf_map_freeze(inner.get()) != 0) return map_error("freezing " + what, errno);
    return tempos::Result<tempos::UniqueFd>(std::move(inner));
}

tempos::Status publish_inner_maps(int outer_fd, std::span<const std::uint32_t> keys, std::span<const int> inner_fds,
                                  std::uint32_t& published, const std::function<std::string(std::size_t)>& what) {
    published = 0;
    if (keys.size() != inner_fds.size())
        return tempos::Status::error(tempos::ErrorCode::internal, "publishing routes: keys and maps differ in number");
    if (keys.empty()) return tempos::Status::ok();
    // An ARRAY_OF_MAPS takes the inner maps' fds as its values, 4 bytes each.
    std::vector<std::uint32_t> values(inner_fds.begin(), inner_fds.end());
    std::uint32_t count = static_cast<std::uint32_t>(keys.size());
    if (bpf_map_update_batch(outer_fd, keys.data(), values.data(), &count, nullptr) == 0) {
        published = count;
        return tempos::Status::ok();
    }
    const int err = errno;
    // ENOTSUPP (524, kernel-internal) or EOPNOTSUPP: this map type has no batch update here. EINVAL on the first
    // slot may be the same refusal from an older kernel: the updates one at a time tell which slot, if any, is bad.
    constexpr int kEnotsupp = 524;
    const bool unsupported = err == kEnotsupp || err == EOPNOTSUPP || (err == EINVAL && count == 0);
    if (!unsupported) {
        published = count;
        return map_error("publishing " + what(count), err);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (bpf_map_update_elem(outer_fd, &keys[i], &values[i], BPF_ANY) != 0) return map_error("publishing " + what(i), errno);
        ++published;
    }
    return tempos::Status::ok();
}

tempos::Status publish_value(int outer_fd, std::uint32_t key, const std::string& name, const void* value,
                             std::uint32_t value_size, const std::string& what) {
    tempos::Result<tempos::UniqueFd> inner = frozen_value_map(name, value, value_size, what);
    if (!inner) return inner.status();
    return swap_in(outer_fd, key, inner.value().get(), what);
}

tempos::Status swap_in(int outer_fd, std::uint32_t key, int inner_fd, const std::string& what) {
    const std::uint32_t fd = static_cast<std::uint32_t>(inner_fd);
    if (bpf_map_update_elem(outer_fd, &key, &fd, BPF_ANY) != 0) return map_error("publishing " + what, errno);
    return tempos::Status::ok();
}

tempos::Result<bool> slot_in_use(int outer_fd, std::uint32_t key, const std::string& what) {
    std::uint32_t inner_id = 0;
    if (bpf_map_lookup_elem(outer_fd, &key, &inner_id) == 0) return true;
    if (errno == ENOENT) return false;
    return map_error("reading " + what, errno);
}

tempos::Status clear_slot(int outer_fd, std::uint32_t key, const std::string& what) {
    if (bpf_map_delete_elem(outer_fd, &key) != 0 && errno != ENOENT) return map_error("removing " + what, errno);
    return tempos::Status::ok();
}

void clear_slots(std::span<const SlotToClear> slots, std::span<tempos::Status> results) {
    const std::size_t count = std::min(slots.size(), results.size());
    // Until its delete has run, a slot reads as failed (a thread that could not report leaves it so).
    for (std::size_t i = 0; i < count; ++i)
        results[i] = tempos::Status::error(tempos::ErrorCode::internal, "removing " + slots[i].what + ": not run");
    std::atomic<std::size_t> next{0};
    auto work = [&]() noexcept {
        for (std::size_t i = next++; i < count; i = next++) {
            try {
                results[i] = clear_slot(slots[i].outer_fd, slots[i].key, slots[i].what);
            } catch (...) {  // out of memory for the message: the slot stays "not run"
            }
        }
    };
    std::vector<std::thread> threads;
    try {
        const std::size_t wanted = count > 1 ? std::min(count, kMaxClearThreads) - 1 : 0;
        threads.reserve(wanted);
        while (threads.size() < wanted) threads.emplace_back(work);
    } catch (const std::exception&) {
        // Fewer threads (std::system_error, std::bad_alloc): those started and this one take the rest.
    }
    work();
    for (std::thread& thread : threads) thread.join();
}

}  // namespace tempos::xdp
