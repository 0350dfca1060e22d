// Where the router sits on the interface, and its leaving: one class per attach method (option `xdp_attach`,
// docs/coexistence.md). Both refuse to displace a program they did not attach: a foreign XDP program on the
// interface is named in a `busy` error (xdp_occupant.hpp) and left attached; destroying a hook detaches the router
// only, by its own link or by its own program id.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "adapter_options.hpp"
#include "tempos/status.hpp"
#include "xdp_mode.hpp"

struct bpf_object;

namespace tempos::xdp {

struct HookRequest {
    std::string interface;  // for messages
    int ifindex = 0;
    XdpMode mode = XdpMode::automatic;  // automatic (native, then generic), native or generic
    std::optional<unsigned> priority;   // libxdp's run priority
    // Called before each mode is tried: the program's own state that depends on the mode is set there.
    std::function<void(XdpMode)> before_attempt;
};

class XdpHook {
public:
    virtual ~XdpHook() = default;
    XdpMode mode() const { return mode_; }  // native or generic
    virtual XdpAttachMethod method() const = 0;

protected:
    explicit XdpHook(XdpMode mode) : mode_(mode) {}

private:
    XdpMode mode_;
};

// `what` failed with errno `err` (libbpf's -errno accepted): permission_denied for EPERM/EACCES, naming the two
// capabilities XDP needs; system_error otherwise.
Status xdp_errno_status(const std::string& what, int err);

// A bpf_link of the loaded program `prog_fd`. busy when any XDP program is on the interface (checked first, so
// nothing is even tried beside it); unsupported when the interface refuses the mode.
Result<std::unique_ptr<XdpHook>> hook_with_link(int prog_fd, const HookRequest& request, spdlog::logger& log);

// Through libxdp: `object` opened, not loaded (libxdp loads it as a dispatcher component, or alone where the
// kernel refuses freplace); its program of section "xdp" is the router (the object may hold others). busy when
// libxdp refused and a program is on the interface.
Result<std::unique_ptr<XdpHook>> hook_with_libxdp(bpf_object* object, const HookRequest& request,
                                                  spdlog::logger& log);

}  // namespace tempos::xdp
