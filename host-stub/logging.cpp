#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace tempos::mom {

LogContext::LogContext(spdlog::level::level_enum level)
    : LogContext({std::make_shared<spdlog::sinks::stderr_color_sink_mt>()}, level) {}

LogContext::LogContext(std::vector<spdlog::sink_ptr> sinks, spdlog::level::level_enum level)
    : sinks_(std::move(sinks)), level_(level) {}

std::shared_ptr<spdlog::logger> LogContext::make_logger(const std::string& component) const {
    auto logger = std::make_shared<spdlog::logger>(component, sinks_.begin(), sinks_.end());
    logger->set_level(level_);
    logger->flush_on(spdlog::level::warn);
    return logger;
}

}  // namespace tempos::mom
