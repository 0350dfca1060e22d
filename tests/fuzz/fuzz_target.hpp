// What the privileged differential targets (router_fuzzer.cpp, fanout_fuzzer.cpp) share: how they fail, how they
// skip, how they count the model's rules, their start in the test namespace, their seeds and their mutator.
// Included by one translation unit per target (it defines the target's LLVMFuzzerCustomMutator).
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "frames/packet_builder.hpp"
#include "model_common.hpp"  // pseudo_header_sum
#include "prog_test_run.hpp"  // tests/bpf: hex_dump
#include "topology/command.hpp"
#include "topology/interface.hpp"
#include "topology/private_netns.hpp"
#include "topology/world.hpp"

namespace tempos::fuzz {

// abort, not exit: a kernel call that fails on an input leaves that input to libFuzzer as a crash.
[[noreturn]] inline void fatal(const char* target, const std::string& why) {
    std::fprintf(stderr, "%s: %s\n", target, why.c_str());
    std::abort();
}

// A difference between the program and its model: both sides printed, then abort (libFuzzer keeps the input).
// `rule` is the model's rule and whatever else helps (the program's counters so far); `input` the frame's hex dump.
[[noreturn]] inline void report_difference(const char* heading, const char* config, std::size_t step,
                                           const std::string& what, const char* program_name,
                                           const std::string& program, const std::string& model,
                                           const std::string& rule, std::size_t input_size, const std::string& input) {
    std::fprintf(stderr,
                 "\n==== %s ====\nconfig: %s\nrun %zu of this input\nwhat: %s\n%s: %s\nmodel:   %s\nmodel's rule: %s\n"
                 "input (%zu bytes):\n%s\n",
                 heading, config, step + 1, what.c_str(), program_name, program.c_str(), model.c_str(), rule.c_str(),
                 input_size, input.c_str());
    std::abort();
}

// One run's verdict and output frame, the program's against the model's; `differ(what, program, model)` reports a
// difference (report_difference), `name` names a verdict.
template <typename Name, typename Differ>
void compare_run(int program_verdict, int model_verdict, const testkit::Bytes& program_output,
                 const testkit::Bytes& model_output, Name name, Differ differ) {
    if (program_verdict != model_verdict) differ("verdict", name(program_verdict), name(model_verdict));
    if (program_output != model_output)
        differ("output frame", test::hex_dump(program_output), test::hex_dump(model_output));
}

// Without the privileges to load BPF programs and create a namespace: exit 77 (ctest: skipped), or 1 when
// TEMPOS_REQUIRE_PRIVILEGED=1 (CI), saying why.
[[noreturn]] inline void unprivileged(const char* target, const std::string& why) {
    const char* required = std::getenv("TEMPOS_REQUIRE_PRIVILEGED");
    const bool must = required != nullptr && std::string(required) == "1";
    std::fprintf(stderr, "%s: %s: %s\n", target, must ? "privileged target cannot run" : "skipped, needs privileges",
                 why.c_str());
    std::exit(must ? 1 : 77);
}

// TEMPOS_FUZZ_RULES=1: a map in which the target counts how often each of the model's rules decided, printed at
// exit (what the corpus reaches); otherwise null.
inline std::map<std::string, std::uint64_t>* rule_counts_from_env() {
    const char* rules = std::getenv("TEMPOS_FUZZ_RULES");
    if (rules == nullptr || std::string(rules) != "1") return nullptr;
    static std::map<std::string, std::uint64_t> counts;
    std::atexit([] {
        for (const auto& [rule, n] : counts) std::fprintf(stderr, "rule %8llu  %s\n", (unsigned long long)n, rule.c_str());
    });
    return &counts;
}

// The test namespace a target runs in (testing/topology/private_netns.hpp), entered, this thread pinned to one CPU
// (the programs' round-robin cursors are per CPU), with the permanent neighbour 10.77.0.2 (02:cc:00:00:00:02) on
// its veth; `ipv6_neighbour`: IPv6 off on every other link (quiet: no chatter among captured frames) and on the veth
// (2001:db8:77::1/64, forwarding on, which bpf_fib_lookup needs) with the permanent neighbour 2001:db8:77::2
// (02:cc:00:00:00:12); the veth's own chatter is ICMPv6, which the fan-out's capture skips.
struct FuzzNamespace {
    std::uint32_t veth = 0;
    testkit::MacAddr veth_mac{};
    int possible_cpus = 0;
};
inline FuzzNamespace enter_fuzz_namespace(const char* target, bool ipv6_neighbour) {
    namespace tk = testkit;
    const std::string veth = tk::world::test_netns::kVethA;
    if (Status st = tk::enter_test_netns(); !st) unprivileged(target, "entering the test namespace: " + st.message());
    if (Status st = tk::pin_to_cpu(); !st) fatal(target, st.message());
    FuzzNamespace ns;
    const Result<std::uint32_t> ifindex = tk::ifindex_of(veth);
    if (!ifindex) fatal(target, ifindex.message());
    ns.veth = *ifindex;
    const auto mac = tk::mac_of(veth);
    if (!mac) fatal(target, mac.message());
    std::memcpy(ns.veth_mac.data(), mac->data(), ns.veth_mac.size());
    if (Status st = tk::flush_neighbours(veth); !st) fatal(target, st.message());
    if (Status st = tk::set_permanent_neighbour(veth, "10.77.0.2", "02:cc:00:00:00:02"); !st) fatal(target, st.message());
    if (ipv6_neighbour) {
        for (const auto& [key, value] : {std::pair{std::string("all.disable_ipv6"), "1"},
                                         std::pair{veth + ".disable_ipv6", "0"}, std::pair{veth + ".forwarding", "1"}})
            if (Status st = tk::set_sysctl("net.ipv6.conf." + key, value); !st) fatal(target, st.message());
        if (auto added = tk::run_command({"ip", "-6", "addr", "replace", "2001:db8:77::1/64", "dev", veth, "nodad"});
            !added)
            fatal(target, added.message());
        if (Status st = tk::set_permanent_neighbour(veth, "2001:db8:77::2", "02:cc:00:00:00:12"); !st)
            fatal(target, st.message());
    }
    ns.possible_cpus = libbpf_num_possible_cpus();
    if (ns.possible_cpus <= 0) fatal(target, "libbpf_num_possible_cpus failed");
    return ns;
}

// One seed file DIR/NAME (TEMPOS_FUZZ_SEEDS).
inline void write_seed(const char* target, const char* dir, const std::string& name, const testkit::Bytes& frame) {
    std::ofstream out(std::string(dir) + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
    if (!out) fatal(target, std::string("writing seed ") + dir + "/" + name);
}

// The structure-aware half of the mutator: random byte mutations almost never keep tot_len, udp.len and the
// checksums consistent with a new length, so the frames that reach the rewrite would keep the seeds' lengths.
// Half the time the mutated frame is repaired: tot_len and udp.len from the frame's length (less some padding),
// the IPv4 header checksum, and a UDP checksum of one form (complete, none, CHECKSUM_PARTIAL, or left as is).
// IPv6: the payload length and udp.len (UDP right after the fixed header or after skippable extension headers),
// and the UDP checksum the same way.
namespace repair {

inline void put16(std::uint8_t* data, std::size_t at, std::uint16_t v) {
    data[at] = static_cast<std::uint8_t>(v >> 8);
    data[at + 1] = static_cast<std::uint8_t>(v);
}

// One UDP checksum form at l4 (choice % 4): complete (0 sent as 0xffff), none (0; IPv6: a wrong non-zero one, 0
// being invalid there), CHECKSUM_PARTIAL (the pseudo-header sum), or left as is.
inline void write_udp_check(std::uint8_t* data, std::size_t l4, std::size_t udp_len, std::uint16_t pseudo,
                            std::uint32_t choice, bool ipv6) {
    switch (choice % 4) {
        case 0: {
            put16(data, l4 + 6, 0);
            const std::uint16_t full = testkit::internet_checksum(data + l4, udp_len, pseudo);
            put16(data, l4 + 6, full == 0 ? 0xffff : full);
            break;
        }
        case 1: put16(data, l4 + 6, ipv6 ? static_cast<std::uint16_t>(pseudo ^ 0x00ff) | 1 : 0); break;
        case 2: put16(data, l4 + 6, pseudo); break;
        default: break;
    }
}

inline std::size_t ipv6(std::uint8_t* data, std::size_t size, std::size_t l3, std::uint32_t choice) {
    std::size_t l4 = l3 + 40;
    std::uint8_t next = data[l3 + 6];
    for (int skipped = 0; skipped < 4 && (next == 0 || next == 60) && size >= l4 + 8; ++skipped) {
        next = data[l4];
        l4 += (data[l4 + 1] + 1u) * 8;
    }
    const std::size_t padding = (choice >> 4) % 4 == 0 ? (choice >> 6) % 16 : 0;
    if (next != 17 || size < l4 + 8 + padding) return size;
    const std::size_t payload_len = size - l3 - 40 - padding, udp_len = size - l4 - padding;
    if (payload_len > 0xffff) return size;
    put16(data, l3 + 4, static_cast<std::uint16_t>(payload_len));
    put16(data, l4 + 4, static_cast<std::uint16_t>(udp_len));
    testkit::Ipv6Addr src, dst;
    std::memcpy(src.data(), data + l3 + 8, 16);
    std::memcpy(dst.data(), data + l3 + 24, 16);
    write_udp_check(data, l4, udp_len, pseudo_header_sum(src, dst, static_cast<std::uint16_t>(udp_len)), choice, true);
    return size;
}

inline std::size_t frame(std::uint8_t* data, std::size_t size, std::uint32_t choice) {
    const auto get16 = [&](std::size_t at) { return static_cast<std::uint16_t>(data[at] << 8 | data[at + 1]); };
    if (size < 14) return size;
    std::size_t l3 = 14;
    for (int tags = 0; tags < 2 && (get16(l3 - 2) == 0x8100 || get16(l3 - 2) == 0x88a8) && size >= l3 + 4; ++tags)
        l3 += 4;
    if (get16(l3 - 2) == 0x86dd && size >= l3 + 40 && (data[l3] >> 4) == 6) return ipv6(data, size, l3, choice);
    if (get16(l3 - 2) != 0x0800 || size < l3 + 20 || (data[l3] >> 4) != 4) return size;
    const std::size_t ihl = (data[l3] & 0x0f) * 4u;
    const std::size_t padding = (choice >> 4) % 4 == 0 ? (choice >> 6) % 16 : 0;
    if (ihl < 20 || size < l3 + ihl + 8 + padding || data[l3 + 9] != 17) return size;
    const std::size_t tot_len = size - l3 - padding, udp_len = tot_len - ihl, l4 = l3 + ihl;
    if (tot_len > 0xffff) return size;
    put16(data, l3 + 2, static_cast<std::uint16_t>(tot_len));
    put16(data, l4 + 4, static_cast<std::uint16_t>(udp_len));
    put16(data, l3 + 10, 0);
    put16(data, l3 + 10, testkit::internet_checksum(data + l3, ihl));
    const testkit::Ipv4Addr src{data[l3 + 12], data[l3 + 13], data[l3 + 14], data[l3 + 15]};
    const testkit::Ipv4Addr dst{data[l3 + 16], data[l3 + 17], data[l3 + 18], data[l3 + 19]};
    write_udp_check(data, l4, udp_len, pseudo_header_sum(src, dst, static_cast<std::uint16_t>(udp_len)), choice, false);
    return size;
}

}  // namespace repair

// What a target defines (kFuzzTarget, in namespace tempos::fuzz): its seed corpus written into DIR
// (TEMPOS_FUZZ_SEEDS=DIR), its start (loads, namespace, worlds), and the comparison of one input frame, which holds
// at least an Ethernet header (BPF_PROG_TEST_RUN refuses shorter ones, as drivers never deliver one): 0, or -1 for
// an input to leave out of the corpus.
struct FuzzTarget {
    void (*write_seeds)(const char* dir);
    void (*start)();
    int (*run)(const testkit::Bytes& frame);
};
extern const FuzzTarget kFuzzTarget;

}  // namespace tempos::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("TEMPOS_FUZZ_SEEDS")) tempos::fuzz::kFuzzTarget.write_seeds(dir);
    tempos::fuzz::kFuzzTarget.start();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 14) return -1;
    return tempos::fuzz::kFuzzTarget.run(tempos::testkit::Bytes(data, data + size));
}

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

// libFuzzer's mutation, then half the time the frame repaired (tempos::fuzz::repair).
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
    size = LLVMFuzzerMutate(data, size, max_size);
    return seed % 2 == 0 ? tempos::fuzz::repair::frame(data, size, seed >> 1) : size;
}
