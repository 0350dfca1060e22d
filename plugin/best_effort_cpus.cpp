#include "best_effort_cpus.hpp"

#include <charconv>
#include <optional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace tempos::xdp {

namespace {

Status invalid(std::string_view text, const std::string& why) {
    return Status::error(ErrorCode::invalid_argument, "CPU list \"" + std::string(text) + "\": " + why);
}

std::optional<unsigned> parse_number(std::string_view text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

Result<std::string> read_line(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return Status::error(ErrorCode::system_error, "cannot read " + file.string());
    return trimmed(std::string(std::istreambuf_iterator<char>(in), {}));
}

}  // namespace

Result<CpuSet> parse_cpu_list(std::string_view text) {
    CpuSet cpus;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        const std::string_view item = text.substr(start, comma - start);
        const std::size_t dash = item.find('-');
        const auto first = parse_number(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : parse_number(item.substr(dash + 1));
        if (!first || !last) return invalid(text, "expected CPU numbers and ranges such as 1 or 0-1,3");
        if (*last < *first) return invalid(text, "range " + std::string(item) + " ends before it starts");
        if (*last >= 4096) return invalid(text, "CPU " + std::to_string(*last) + " is out of range");
        for (unsigned cpu = *first; cpu <= *last; ++cpu) cpus.insert(cpu);
        start = comma + 1;
    }
    return cpus;
}

std::string format_cpu_list(const CpuSet& cpus) {
    std::string out;
    for (auto it = cpus.begin(); it != cpus.end();) {
        const unsigned first = *it;
        unsigned last = first;
        while (++it != cpus.end() && *it == last + 1) ++last;
        if (!out.empty()) out += ',';
        out += std::to_string(first);
        if (last != first) out += '-' + std::to_string(last);
    }
    return out;
}

Result<CpuSet> nic_queue_cpus(const std::string& interface) {
    const std::filesystem::path device = std::filesystem::path("/sys/class/net") / interface / "device";
    CpuSet cpus;
    for (const std::filesystem::path& irqs : {device / "msi_irqs", device / ".." / "msi_irqs"}) {
        std::error_code ec;
        if (!std::filesystem::is_directory(irqs, ec)) continue;
        for (const auto& entry : std::filesystem::directory_iterator(irqs, ec)) {
            const Result<std::string> affinity =
                read_line(std::filesystem::path("/proc/irq") / entry.path().filename() / "effective_affinity_list");
            if (!affinity) continue;  // an interrupt that is gone, or not readable here: it serves no CPU we know
            const Result<CpuSet> parsed = parse_cpu_list(*affinity);
            if (parsed) cpus.insert(parsed->begin(), parsed->end());
        }
        break;
    }
    return cpus;
}

Result<CpuSet> default_best_effort_cpus(const std::string& interface) {
    const Result<std::string> online_text = read_line("/sys/devices/system/cpu/online");
    if (!online_text) return online_text.status();
    Result<CpuSet> online = parse_cpu_list(*online_text);
    if (!online) return online.status();
    const Result<CpuSet> nic = nic_queue_cpus(interface);
    if (!nic) return nic.status();
    CpuSet left;
    for (unsigned cpu : *online)
        if (!nic->count(cpu)) left.insert(cpu);
    return left.empty() ? *online : left;
}

}  // namespace tempos::xdp
