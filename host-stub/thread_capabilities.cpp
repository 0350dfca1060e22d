#include "tempos/thread_capabilities.hpp"

#include <cap-ng.h>
#include <linux/capability.h>

#include <cctype>

namespace tempos {

namespace {
// The highest capability these headers know (a newer one a thread may hold is dropped, never kept).
constexpr int kLastCapability = CAP_LAST_CAP < 63 ? CAP_LAST_CAP : 63;
}  // namespace

std::uint64_t thread_permitted_capabilities() {
    if (capng_get_caps_process() != 0) return 0;
    std::uint64_t mask = 0;
    for (int cap = 0; cap <= kLastCapability; ++cap)
        if (capng_have_capability(CAPNG_PERMITTED, static_cast<unsigned>(cap))) mask |= std::uint64_t{1} << cap;
    return mask;
}

Status drop_thread_capabilities(std::uint64_t keep) {
    const std::uint64_t had = thread_permitted_capabilities();
    if (had == 0) return Status::ok();
    capng_clear(CAPNG_SELECT_CAPS);
    for (int cap = 0; cap <= kLastCapability; ++cap) {
        const std::uint64_t bit = std::uint64_t{1} << cap;
        if ((keep & had & bit) == 0) continue;
        if (capng_update(CAPNG_ADD, static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED),
                         static_cast<unsigned>(cap)) != 0)
            return Status::error(ErrorCode::system_error, "capng_update(" + capability_names(bit) + ") failed");
    }
    // CAPNG_SELECT_CAPS only: the bounding set needs CAP_SETPCAP to change, and nothing is ever exec'd.
    if (capng_apply(CAPNG_SELECT_CAPS) != 0)
        return Status::error(ErrorCode::system_error, "capng_apply failed: capabilities kept as they were");
    return Status::ok();
}

std::string capability_names(std::uint64_t mask) {
    std::string names;
    for (int cap = 0; cap < 64; ++cap) {
        if ((mask & (std::uint64_t{1} << cap)) == 0) continue;
        const char* name = capng_capability_to_name(static_cast<unsigned>(cap));
        std::string upper = "CAP_";
        for (const char* c = name ? name : "?"; *c; ++c) upper += static_cast<char>(std::toupper(*c));
        if (!name) upper += std::to_string(cap);
        names += (names.empty() ? "" : ", ") + upper;
    }
    return names.empty() ? "none" : names;
}

}  // namespace tempos
