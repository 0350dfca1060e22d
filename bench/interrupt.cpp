#include "interrupt.hpp"

#include <signal.h>

#include <atomic>

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

}  // namespace tempos::bench
