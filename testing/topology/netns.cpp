#include "topology/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tempos::testkit {

namespace {

Status os_error(const std::string& what) {
    const int err = errno;
    return Status::error(err == EACCES || err == EPERM ? ErrorCode::permission_denied
                         : err == ENOENT              ? ErrorCode::not_found
                                                      : ErrorCode::system_error,
                         what + ": " + std::strerror(err));
}

}  // namespace

Status run_in_netns(const std::string& ns, const std::function<Status()>& fn) {
    const int original = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (original < 0) return os_error("cannot open this thread's network namespace");
    const std::string path = "/run/netns/" + ns;
    const int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        Status error = os_error("cannot open network namespace " + path);
        ::close(original);
        return error;
    }
    Status result = ::setns(target, CLONE_NEWNET) == 0 ? Status::ok() : os_error("cannot enter network namespace " + ns);
    ::close(target);
    if (result) {
        result = fn();
        // Back where the thread came from: a thread left in a test namespace would create later sockets there.
        if (::setns(original, CLONE_NEWNET) != 0) result = os_error("cannot return from network namespace " + ns);
    }
    ::close(original);
    return result;
}

}  // namespace tempos::testkit
