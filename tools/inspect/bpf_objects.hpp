// Opening another process's BPF programs and maps by id (what bpftool does), with errors that name the missing
// privilege: the kernel hands out such fds to CAP_SYS_ADMIN only.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tempos/status.hpp"
#include "tempos/unique_fd.hpp"

namespace tempos::inspect {

// `what` failed with errno `err` (libbpf's -errno accepted too); EPERM/EACCES say which capability is missing.
Status bpf_error(const std::string& what, int err);

struct ProgramInfo {
    std::uint32_t id = 0;
    std::string name;  // the kernel keeps the first 15 characters
    std::uint32_t type = BPF_PROG_TYPE_UNSPEC;
    std::vector<std::uint32_t> map_ids;
};

struct OpenProgram {
    UniqueFd fd;
    ProgramInfo info;
};

struct OpenMap {
    UniqueFd fd;
    std::uint32_t id = 0;
    std::string name;
    std::uint32_t type = BPF_MAP_TYPE_UNSPEC;
    std::uint32_t key_size = 0;
    std::uint32_t value_size = 0;
    std::uint32_t max_entries = 0;
};

Result<OpenProgram> open_program(std::uint32_t id);
Result<OpenMap> open_map(std::uint32_t id);

// The map of `program` whose name is `name` (compared on the 15 characters the kernel keeps); not_found when the
// program has none.
Result<OpenMap> find_map(const ProgramInfo& program, std::string_view name);

}  // namespace tempos::inspect
