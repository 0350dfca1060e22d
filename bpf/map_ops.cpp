#include "map_ops.hpp"

#include <cstring>

#include "tempos/unique_fd.hpp"

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

tempos::Status publish_value(int outer_fd, std::uint32_t key, const std::string& name, const void* value,
                             std::uint32_t value_size, const std::string& what) {
    tempos::UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, name.c_str(), sizeof(std::uint32_t), value_size, 1, nullptr));
    if (inner.get() < 0) return map_error("creating the inner map of " + what, inner.get());
    const std::uint32_t zero = 0;
    if (bpf_map_update_elem(inner.get(), &zero, value, BPF_ANY) != 0) return map_error("writing " + what, errno);
    return publish_inner_map(outer_fd, key, inner.get(), what);
}

tempos::Status clear_slot(int outer_fd, std::uint32_t key, const std::string& what) {
    if (bpf_map_delete_elem(outer_fd, &key) != 0 && errno != ENOENT) return map_error("removing " + what, errno);
    return tempos::Status::ok();
}

}  // namespace tempos::xdp
