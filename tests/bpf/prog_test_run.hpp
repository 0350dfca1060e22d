// What the packet-level tests of both programs (the XDP router, the TC fan-out) share; loading a skeleton with the
// MoM's constants and running a frame through it are the test kit's (frames/prog_test_run.hpp).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "frames/packet_builder.hpp"
#include "frames/prog_test_run.hpp"
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
using testkit::load_skeleton;
using testkit::ProgRun;

// Hex lines of 16 bytes, for readable frame comparisons.
std::string hex_dump(const Bytes& bytes);

}  // namespace tempos::test
