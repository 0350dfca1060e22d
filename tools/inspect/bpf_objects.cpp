#include "bpf_objects.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

namespace tempos::inspect {

Status bpf_error(const std::string& what, int err) {
    err = err < 0 ? -err : err;
    std::string message = what + ": " + std::strerror(err);
    if (err == EPERM || err == EACCES)
        return Status::error(ErrorCode::permission_denied,
                             message + " (reading a running MoM's BPF programs and maps by id needs CAP_SYS_ADMIN: "
                                       "run tempos-inspect as root)");
    if (err == ENOENT) return Status::error(ErrorCode::not_found, message + " (it went away while being read)");
    return Status::error(ErrorCode::system_error, std::move(message));
}

Result<OpenProgram> open_program(std::uint32_t id) {
    const std::string what = "BPF program " + std::to_string(id);
    OpenProgram program{UniqueFd(bpf_prog_get_fd_by_id(id)), {}};
    if (program.fd.get() < 0) return bpf_error("opening " + what, errno);

    bpf_prog_info info{};
    std::uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(program.fd.get(), &info, &length) != 0) return bpf_error("reading " + what, errno);
    // A second call with room for the map ids the first one counted.
    std::vector<std::uint32_t> map_ids(info.nr_map_ids);
    const std::uint32_t nr_map_ids = info.nr_map_ids;
    info = bpf_prog_info{};
    info.nr_map_ids = nr_map_ids;
    info.map_ids = reinterpret_cast<std::uintptr_t>(map_ids.data());
    length = sizeof(info);
    if (bpf_obj_get_info_by_fd(program.fd.get(), &info, &length) != 0) return bpf_error("reading " + what, errno);
    map_ids.resize(std::min(nr_map_ids, info.nr_map_ids));

    program.info = ProgramInfo{id, info.name, info.type, std::move(map_ids)};
    return program;
}

Result<OpenMap> open_map(std::uint32_t id) {
    const std::string what = "BPF map " + std::to_string(id);
    OpenMap map;
    map.fd = UniqueFd(bpf_map_get_fd_by_id(id));
    if (map.fd.get() < 0) return bpf_error("opening " + what, errno);
    bpf_map_info info{};
    std::uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(map.fd.get(), &info, &length) != 0) return bpf_error("reading " + what, errno);
    map.id = id;
    map.name = info.name;
    map.type = info.type;
    map.key_size = info.key_size;
    map.value_size = info.value_size;
    map.max_entries = info.max_entries;
    return map;
}

Result<OpenMap> find_map(const ProgramInfo& program, std::string_view name) {
    const std::string_view stored = name.substr(0, BPF_OBJ_NAME_LEN - 1);  // what the kernel keeps of a name
    for (const std::uint32_t id : program.map_ids) {
        Result<OpenMap> map = open_map(id);
        if (!map) return map.status();
        if (map->name == stored) return map;
    }
    return Result<OpenMap>::error(ErrorCode::not_found, "program " + std::to_string(program.id) + " (" +
                                                            program.name + ") has no map " + std::string(name));
}

}  // namespace tempos::inspect
