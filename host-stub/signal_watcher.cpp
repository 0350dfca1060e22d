#include "signal_watcher.hpp"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "tempos/system_status.hpp"

namespace tempos::mom {

Result<SignalWatcher> SignalWatcher::open() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (const int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) return system_status("pthread_sigmask", rc);
    const int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return system_status("signalfd", errno);
    return SignalWatcher(fd);
}

SignalWatcher::~SignalWatcher() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<ControlSignal> SignalWatcher::wait(std::chrono::milliseconds timeout) {
    if (fd_ < 0) return std::nullopt;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    signalfd_siginfo info{};
    if (::read(fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return std::nullopt;
    return info.ssi_signo == SIGHUP ? ControlSignal::reload : ControlSignal::terminate;
}

}  // namespace tempos::mom
