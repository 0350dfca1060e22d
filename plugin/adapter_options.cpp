#include "adapter_options.hpp"

#include <charconv>

namespace tempos::xdp {

std::string_view to_string(XdpAttachMethod method) {
    return method == XdpAttachMethod::libxdp ? "libxdp" : "link";
}

namespace {

Status invalid(std::string message) { return Status::error(ErrorCode::invalid_argument, std::move(message)); }

Result<std::uint32_t> parse_queue(const std::string& value) {
    std::uint32_t queue = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), queue);
    if (ec != std::errc() || end != value.data() + value.size() || queue == 0 || queue > kMaxBestEffortQueue)
        return invalid("best_effort_queue = " + value + ": expected a frame count from 1 to " +
                       std::to_string(kMaxBestEffortQueue));
    return queue;
}

}  // namespace

Result<AdapterOptions> parse_adapter_options(const std::map<std::string, std::string>& options) {
    AdapterOptions parsed;
    for (const auto& [key, value] : options) {
        if (key == "xdp_mode") {
            const auto mode = parse_xdp_mode(value);
            if (!mode) return invalid("xdp_mode = \"" + value + "\": expected auto, native, generic or off");
            parsed.mode = *mode;
        } else if (key == "xdp_attach") {
            if (value == "link")
                parsed.attach = XdpAttachMethod::link;
            else if (value == "libxdp")
                parsed.attach = XdpAttachMethod::libxdp;
            else
                return invalid("xdp_attach = \"" + value + "\": expected link or libxdp");
        } else if (key == "xdp_priority") {
            unsigned priority = 0;
            const char* end = value.data() + value.size();
            const auto [at, error] = std::from_chars(value.data(), end, priority);
            if (value.empty() || error != std::errc() || at != end || priority > kMaxXdpPriority)
                return invalid("xdp_priority = " + value + ": expected an integer 0.." +
                               std::to_string(kMaxXdpPriority) + " (libxdp runs lower values first)");
            parsed.priority = priority;
        } else if (key == "best_effort_cpus") {
            Result<CpuSet> cpus = parse_cpu_list(value);
            if (!cpus) return invalid("best_effort_cpus: " + cpus.message());
            if (cpus->size() > TEMPOS_MAX_CPUS || (!cpus->empty() && *cpus->rbegin() >= TEMPOS_MAX_CPUS))
                return invalid("best_effort_cpus = \"" + value + "\": CPUs 0.." + std::to_string(TEMPOS_MAX_CPUS - 1) +
                               " only");
            parsed.best_effort_cpus = std::move(*cpus);
        } else if (key == "best_effort_queue") {
            Result<std::uint32_t> queue = parse_queue(value);
            if (!queue) return queue.status();
            parsed.best_effort_queue = *queue;
        } else if (key == "best_effort_nice") {
            int nice = 0;
            const char* end = value.data() + value.size();
            const auto [at, error] = std::from_chars(value.data(), end, nice);
            if (value.empty() || error != std::errc() || at != end || nice < 0 || nice > 19)
                return invalid("best_effort_nice = " + value + ": expected 0 (the kernel's priority, the default) "
                               "to 19 (the lowest)");
            parsed.best_effort_nice = nice;
        } else if (key == "persist") {
            if (value != "true" && value != "false") return invalid("persist = " + value + ": expected true or false");
            parsed.persist = value == "true";
        } else {
            return invalid("unknown option \"" + key +
                           "\" for the xdp adapter (known: xdp_mode, xdp_attach, xdp_priority, best_effort_cpus, "
                           "best_effort_queue, best_effort_nice, persist)");
        }
    }
    if (parsed.priority && parsed.attach != XdpAttachMethod::libxdp)
        return invalid("xdp_priority needs xdp_attach = \"libxdp\" (a bpf_link attach runs the router alone)");
    if (parsed.persist && parsed.attach == XdpAttachMethod::libxdp)
        return invalid("persist needs xdp_attach = \"link\": only a bpf_link can be pinned and have its program "
                       "swapped in place; libxdp's netlink attach already outlives the process (docs/restart.md)");
    if (parsed.persist && parsed.mode == XdpMode::off)
        return invalid("persist with xdp_mode = \"off\": there is no kernel path to keep");
    return parsed;
}

}  // namespace tempos::xdp
