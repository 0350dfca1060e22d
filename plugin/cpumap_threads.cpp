#include "cpumap_threads.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include "tempos/system_status.hpp"

namespace tempos::xdp {

namespace {

std::string thread_name(unsigned cpu, std::uint32_t map_id) {
    return "cpumap/" + std::to_string(cpu) + "/map:" + std::to_string(map_id);
}

std::optional<pid_t> numeric_name(const std::filesystem::path& entry) {
    const std::string name = entry.filename().string();
    pid_t pid = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
    return pid;
}

}  // namespace

Result<std::map<unsigned, pid_t>> find_cpumap_threads(std::uint32_t map_id, const CpuSet& cpus,
                                                      const std::filesystem::path& proc) {
    std::map<std::string, unsigned> wanted;
    for (unsigned cpu : cpus) wanted.emplace(thread_name(cpu, map_id), cpu);
    std::map<unsigned, pid_t> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(proc, ec)) {
        const std::optional<pid_t> pid = numeric_name(entry.path());
        if (!pid) continue;
        std::ifstream comm(entry.path() / "comm");
        std::string name;
        if (!std::getline(comm, name)) continue;  // gone in between
        if (const auto it = wanted.find(name); it != wanted.end()) found[it->second] = *pid;
    }
    if (ec) return system_status("listing " + proc.string(), ec.value());
    for (const auto& [name, cpu] : wanted)
        if (!found.contains(cpu))
            return Status::error(ErrorCode::not_found, "no kernel thread " + name + " in " + proc.string());
    return found;
}

Status renice_cpumap_threads(std::uint32_t map_id, const CpuSet& cpus, int nice, const std::filesystem::path& proc) {
    const Result<std::map<unsigned, pid_t>> threads = find_cpumap_threads(map_id, cpus, proc);
    if (!threads) return threads.status();
    for (const auto& [cpu, pid] : *threads)
        if (::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), nice) != 0)
            return system_status("setting the best-effort thread of CPU " + std::to_string(cpu) + " (" +
                                     thread_name(cpu, map_id) + ", pid " + std::to_string(pid) + ") to nice " +
                                     std::to_string(nice),
                                 errno);
    return Status::ok();
}

}  // namespace tempos::xdp
