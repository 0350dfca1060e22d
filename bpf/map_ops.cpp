#include "map_ops.hpp"

#include <cstring>

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

tempos::Status clear_slot(int outer_fd, std::uint32_t key, const std::string& what) {
    if (bpf_map_delete_elem(outer_fd, &key) != 0 && errno != ENOENT) return map_error("removing " + what, errno);
    return tempos::Status::ok();
}

}  // namespace tempos::xdp
