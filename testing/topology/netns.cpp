#include "topology/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "topology/command.hpp"

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

NetnsScope::NetnsScope(const std::string& ns) : ns_(ns) {
    original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (original_ < 0) {
        status_ = os_error("cannot open this thread's network namespace");
        return;
    }
    const std::string path = "/run/netns/" + ns;
    const int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
        status_ = os_error("cannot open network namespace " + path);
    } else {
        if (::setns(target, CLONE_NEWNET) != 0) status_ = os_error("cannot enter network namespace " + ns);
        ::close(target);
    }
    if (!status_) {
        ::close(original_);
        original_ = -1;
    }
}

Status NetnsScope::leave() {
    if (original_ < 0) return Status::ok();
    Status result = ::setns(original_, CLONE_NEWNET) == 0 ? Status::ok()
                                                           : os_error("cannot return from network namespace " + ns_);
    ::close(original_);
    original_ = -1;
    return result;
}

NetnsScope::~NetnsScope() {
    if (const Status back = leave(); !back) {
        std::fprintf(stderr, "tempos testkit: %s\n", back.message().c_str());
        std::abort();
    }
}

Status run_in_netns(const std::string& ns, const std::function<Status()>& fn) {
    NetnsScope inside(ns);
    if (!inside.status()) return inside.status();
    return fn();
}

Status enter_private_netns() {
    if (::unshare(CLONE_NEWNET) != 0) return os_error("unshare(CLONE_NEWNET)");
    return run_command({"ip", "link", "set", "lo", "up"}).status();
}

}  // namespace tempos::testkit
