// Which topics the receiver accepts and to which queue each goes. Read by the receiver for every
// datagram, written by the control thread on reload: one atomic byte per topic, no lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "counters.hpp"
#include "tempos/adapter.hpp"

namespace tempos::mom {

class TopicTable {
public:
    TopicTable() {
        for (auto& slot : slots_) slot.store(kUnknown, std::memory_order_relaxed);
    }
    void set(std::uint8_t topic, Qos qos) {
        slots_[topic].store(qos == Qos::strict ? kStrict : kBestEffort, std::memory_order_release);
    }
    void erase(std::uint8_t topic) { slots_[topic].store(kUnknown, std::memory_order_release); }
    // The queue path of a known topic; nullopt for an unknown one.
    std::optional<Path> route(std::uint8_t topic) const {
        switch (slots_[topic].load(std::memory_order_acquire)) {
            case kStrict: return Path::sq;
            case kBestEffort: return Path::bq;
            default: return std::nullopt;
        }
    }

private:
    static constexpr std::uint8_t kUnknown = 0, kStrict = 1, kBestEffort = 2;
    std::array<std::atomic<std::uint8_t>, 256> slots_;
};

}  // namespace tempos::mom
