#include "interrupt.hpp"

#include <signal.h>

#include <csignal>

namespace tempos::bench {

namespace {
volatile sig_atomic_t g_interrupted = 0;
}  // namespace

void install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_interrupted = 1; };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted != 0; }

}  // namespace tempos::bench
