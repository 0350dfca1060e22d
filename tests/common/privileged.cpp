#include "privileged.hpp"

#include <sys/capability.h>
#include <unistd.h>

#include <string>

namespace tempos::test {

namespace {
bool has_effective_cap(cap_value_t cap) {
    cap_t caps = cap_get_proc();
    if (caps == nullptr) return false;
    cap_flag_value_t value = CAP_CLEAR;
    const bool ok = cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0;
    cap_free(caps);
    return ok && value == CAP_SET;
}
}  // namespace

Status missing_privileges() {
    std::string missing;
    if (!has_effective_cap(CAP_SYS_ADMIN) && !has_effective_cap(CAP_BPF)) missing += " CAP_BPF";
    if (!has_effective_cap(CAP_NET_ADMIN)) missing += " CAP_NET_ADMIN";
    if (!has_effective_cap(CAP_SYS_ADMIN)) missing += " CAP_SYS_ADMIN(netns)";
    if (missing.empty()) return Status::ok();
    return Status::error(ErrorCode::permission_denied, "missing" + missing);
}

}  // namespace tempos::test
