// The host owns the log sinks and level; every component gets its own named logger built from them,
// and plugins receive the same sinks through AdapterEnv. Nothing is registered in spdlog's global registry.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "tempos/adapter.hpp"

namespace tempos::mom {

class LogContext {
public:
    // Logs to stderr (colour when it is a terminal).
    explicit LogContext(spdlog::level::level_enum level = spdlog::level::info);
    LogContext(std::vector<spdlog::sink_ptr> sinks, spdlog::level::level_enum level);

    std::shared_ptr<spdlog::logger> make_logger(const std::string& component) const;
    AdapterEnv adapter_env() const { return AdapterEnv{sinks_, level_}; }
    spdlog::level::level_enum level() const { return level_; }

private:
    std::vector<spdlog::sink_ptr> sinks_;
    spdlog::level::level_enum level_;
};

}  // namespace tempos::mom
