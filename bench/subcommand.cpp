#include "subcommand.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>


namespace tempos::bench {

namespace {
std::atomic<bool> g_interrupted{false};  // lock-free: safe in a signal handler, read by every measuring thread
static_assert(std::atomic<bool>::is_always_lock_free);
}  // namespace

void install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_interrupted.store(true); };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

Report& Report::number(const std::string& key, double value, int decimals) {
    if (!std::isfinite(value))
        fields_[key] = nullptr;
    else if (decimals == 0)
        fields_[key] = std::llround(value);
    else
        fields_[key] = round_to(value, decimals);
    return *this;
}

Report& Report::raw(const std::string& key, nlohmann::ordered_json value) {
    fields_[key] = std::move(value);
    return *this;
}

void Report::print(bool as_json) const {
    constexpr auto kReplace = nlohmann::ordered_json::error_handler_t::replace;  // error texts from child processes
    if (as_json) {
        std::printf("%s\n", fields_.dump(-1, ' ', false, kReplace).c_str());
        return;
    }
    for (const auto& [key, value] : fields_.items())
        std::printf(
            "%-40s %s\n", key.c_str(),
            value.is_string() ? value.get<std::string>().c_str() : value.dump(-1, ' ', false, kReplace).c_str());
}

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int finish(const char* name, const Result<Report>& report, bool as_json) {
    if (!report) {
        std::fprintf(stderr, "tempos-bench %s: %s\n", name, report.message().c_str());
        return interrupted() ? 130 : 1;  // 130: as a shell reports a SIGINT
    }
    report->print(as_json);
    return 0;
}

}  // namespace tempos::bench
