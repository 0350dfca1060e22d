// A spdlog sink that keeps every record, so tests can count the adapter's warnings.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>
#include <vector>

namespace tempos::test {

class RecordingSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    struct Record {
        spdlog::level::level_enum level;
        std::string logger;
        std::string text;
    };

    std::vector<Record> records() {
        std::lock_guard lock(mutex_);
        return records_;
    }
    int count(spdlog::level::level_enum level) {
        int n = 0;
        for (const auto& r : records())
            if (r.level == level) ++n;
        return n;
    }

    // Some record holds `part`.
    bool contains(const std::string& part) {
        for (const auto& r : records())
            if (r.text.find(part) != std::string::npos) return true;
        return false;
    }
    // Every record, one a line, for failure messages.
    std::string text() {
        std::string all;
        for (const auto& r : records()) all += r.text + "\n";
        return all;
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        records_.push_back({msg.level, std::string(msg.logger_name.data(), msg.logger_name.size()),
                            std::string(msg.payload.data(), msg.payload.size())});
    }
    void flush_() override {}

private:
    std::vector<Record> records_;
};

}  // namespace tempos::test
