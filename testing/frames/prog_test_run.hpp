// Loading a BPF skeleton with the MoM's constants, and one BPF_PROG_TEST_RUN call: the one way the program tests,
// the plugin's kernel tests and tempos-bench run a frame through a program (XDP and TC differ only in the
// context they pass).
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "frames/packet_builder.hpp"
#include "frames/router_fixtures.hpp"  // MomConstants
#include "skeleton.hpp"
#include "tempos/status.hpp"

namespace tempos::testkit {

// Opens the skeleton `name` with its generated X__open/X__load/X__destroy, sets the MoM's constants (or lets
// `set_constants` set every rodata constant, e.g. set_router_constants) and loads it (the verifier runs here).
template <typename Skeleton>
Result<xdp::SkeletonPtr<Skeleton>> load_skeleton(const char* name, Skeleton* (*open)(), int (*load)(Skeleton*),
                                                 void (*destroy)(Skeleton*), const MomConstants& mom,
                                                 void (*set_constants)(Skeleton&, const MomConstants&) = nullptr) {
    xdp::SkeletonPtr<Skeleton> skel(open(), destroy);
    if (!skel) return Status::error(ErrorCode::system_error, std::string(name) + "__open: " + std::strerror(errno));
    if (set_constants)
        set_constants(*skel, mom);
    else
        xdp::set_mom_constants(*skel, mom.port, mom.ip);
    if (int err = load(skel.get()); err != 0)
        return Status::error(ErrorCode::system_error, std::string(name) + "__load (verifier): " + std::strerror(-err));
    return skel;
}

// The router loaded with `mom` (set_router_constants) and told its attach mode (bss attached_generic), as the
// adapter does before attaching: the router of the fixtures' tests and of `tempos-bench prog`.
Result<xdp::SkeletonPtr<tempos_router>> load_router_skeleton(const MomConstants& mom = {});

struct ProgRun {
    int action = -1;     // the program's return value on the last repetition
    Bytes output;        // the frame as the last repetition left it
    double wall_ns = 0;  // the whole call, seen from user space
};

// `repeat` runs of `prog_fd` on a fresh copy of `input` (the kernel does not restore the frame between
// repetitions); `ctx` is the program type's context (xdp_md, __sk_buff), empty for the kernel's default.
Result<ProgRun> prog_test_run(int prog_fd, const Bytes& input, std::span<const std::uint8_t> ctx = {},
                              std::uint32_t repeat = 1);

// A context struct as prog_test_run takes it.
template <typename Context>
std::span<const std::uint8_t> context_bytes(const Context& ctx) {
    return {reinterpret_cast<const std::uint8_t*>(&ctx), sizeof(Context)};
}

}  // namespace tempos::testkit
