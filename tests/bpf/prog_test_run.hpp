// What the packet-level tests of both programs (the XDP router, the TC fan-out) share: loading a skeleton with
// the MoM's constants, and one BPF_PROG_TEST_RUN of a frame (XDP and TC differ only in the context).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "frames/packet_builder.hpp"
#include "frames/router_fixtures.hpp"
#include "skeleton.hpp"
#include "tempos/status.hpp"

namespace tempos::test {

using testkit::Bytes;
using testkit::internet_checksum;
using testkit::Ipv4Addr;
using testkit::MacAddr;
using testkit::MomConstants;
using testkit::PacketBuilder;

// Opens the skeleton `name` with its generated X__open/X__load/X__destroy, sets the MoM's constants and loads
// it (the verifier runs here).
template <typename Skeleton>
Result<xdp::SkeletonPtr<Skeleton>> load_skeleton(const char* name, Skeleton* (*open)(), int (*load)(Skeleton*),
                                                 void (*destroy)(Skeleton*), const MomConstants& mom) {
    xdp::SkeletonPtr<Skeleton> skel(open(), destroy);
    if (!skel) return Status::error(ErrorCode::system_error, std::string(name) + "__open: " + std::strerror(errno));
    xdp::set_mom_constants(*skel, mom.port, mom.ip);
    if (int err = load(skel.get()); err != 0)
        return Status::error(ErrorCode::system_error, std::string(name) + "__load (verifier): " + std::strerror(-err));
    return skel;
}

struct ProgRun {
    int action = -1;    // the program's return value
    Bytes output;       // the frame after the program
    std::string error;  // empty on success
};

// ctx: the program type's context (xdp_md, __sk_buff), or nullptr for the kernel's default.
ProgRun prog_test_run(int prog_fd, const Bytes& input, const void* ctx, std::size_t ctx_size);

// Hex lines of 16 bytes, for readable frame comparisons.
std::string hex_dump(const Bytes& bytes);

}  // namespace tempos::test
