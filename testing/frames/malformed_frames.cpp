#include "frames/malformed_frames.hpp"

#include <algorithm>
#include <optional>

#include "event_format.hpp"

namespace tempos::testkit {

namespace {

// Builds the scenario's frames: IPv4 frames get increasing IP ids, every event the next sequence.
class FrameMaker {
public:
    explicit FrameMaker(const MalformedTarget& t) : t_(t), sequence_(t.first_sequence) {}

    // An IPv4/UDP frame from the publisher to the MoM's port carrying `payload`.
    PacketBuilder udp(Bytes payload) {
        PacketBuilder b;
        b.eth(t_.dst_mac, t_.src_mac).ipv4(t_.src_ip, t_.dst_ip).ip_id(++ip_id_).udp(40000, t_.port)
            .payload(std::move(payload));
        return b;
    }
    // An event as tempos-pub writes it (tools/event_format.hpp): header, then the sequence's pattern.
    Bytes event_payload(std::uint8_t topic, std::size_t size = 32) {
        Bytes payload(size);
        tools::write_event_header(payload, {topic, ++sequence_, tools::monotonic_ns()});
        tools::write_payload_pattern(payload, sequence_);
        return payload;
    }
    PacketBuilder event(std::uint8_t topic) { return udp(event_payload(topic)); }
    PacketBuilder strict() { return event(t_.strict_topic); }

    // A fragment of a UDP datagram (bytes [from, to) of it) with this IP id and flags/offset.
    PacketBuilder fragment(const Bytes& datagram, std::size_t from, std::size_t to, std::uint16_t id,
                           std::uint16_t frag_off) {
        PacketBuilder b = udp({});
        const auto end = datagram.begin() + static_cast<std::ptrdiff_t>(std::min(to, datagram.size()));
        b.ip_id(id).frag_off(frag_off).ip_payload(Bytes(datagram.begin() + static_cast<std::ptrdiff_t>(from), end));
        return b;
    }
    // A strict event's UDP datagram (header and payload).
    Bytes new_datagram() { return udp_datagram(strict()); }
    // The datagram of the two-fragment event, made once: both fragments carry pieces of the same one.
    const Bytes& split_datagram() {
        if (!split_) split_ = new_datagram();
        return *split_;
    }

    const MalformedTarget& target() const { return t_; }
    std::uint64_t last_sequence() const { return sequence_; }

private:
    static Bytes udp_datagram(const PacketBuilder& b) {
        const Bytes frame = b.build();
        return Bytes(frame.begin() + 14 + 20, frame.end());
    }
    MalformedTarget t_;
    std::uint64_t sequence_;
    std::uint16_t ip_id_ = 0x4000;
    std::optional<Bytes> split_;
};

struct MalformedCase {
    const char* name;
    const char* description;
    const char* slot;
    const char* effect;
    bool delivered;
    Bytes (*build)(FrameMaker&);
};

const MalformedCase kCases[] = {
    {"truncated_ip_header", "truncated IPv4 header", "none", "malformed", false,
     [](FrameMaker& m) { return m.strict().truncate(14 + 12).build(); }},
    {"ip_total_length_beyond_frame", "IP total length beyond the frame", "none", "malformed", false,
     [](FrameMaker& m) { return m.strict().tot_len(20 + 40 + 20).build(); }},
    {"ip_total_length_below_header", "IP total length below the header", "none", "malformed", false,
     [](FrameMaker& m) { return m.strict().tot_len(16).build(); }},
    {"ip_header_length_4", "IP header length 4 words", "none", "malformed", false,
     [](FrameMaker& m) { return m.strict().ihl(4).build(); }},
    {"udp_length_beyond_datagram", "UDP length beyond the datagram", "none", "malformed", false,
     [](FrameMaker& m) { return m.strict().udp_len(8 + 32 + 16).build(); }},
    {"udp_length_below_header", "UDP length below its header", "none", "malformed", false,
     [](FrameMaker& m) { return m.strict().udp_len(4).build(); }},
    // UDP length shorter than the IP payload: the router refuses it (its rule: the lengths must agree), the MoM's
    // stack takes the UDP length as the datagram's end (the rest is padding, RFC 768) and the checksum is right
    // for that shorter datagram: the MoM's socket path serves a 20-byte event. (A checksum right only for the
    // whole IP payload would not be deterministic: GRO on a veth or NIC on the way verifies it over the IP
    // payload and marks it good before the stack trims, see docs/e2e.md.) The zero padding leaves the sum as is.
    {"udp_length_below_datagram", "UDP length below the datagram (trailing padding)", "none", "malformed", true,
     [](FrameMaker& m) {
         Bytes payload = m.event_payload(m.target().strict_topic, tools::kEventHeaderSize + 3);
         payload.resize(payload.size() + 12, 0);
         return m.udp(std::move(payload)).udp_len(8 + tools::kEventHeaderSize + 3).build();
     }},
    // Fragments: the router passes them (no UDP header in later fragments); the MoM's stack reassembles.
    {"lone_first_fragment", "first fragment alone (never completed)", "none", "fragment", false,
     [](FrameMaker& m) { return m.fragment(m.new_datagram(), 0, 16, 0x7001, 0x2000).build(); }},
    {"fragment_1_of_2", "fragment 1 of 2", "none", "fragment", false,
     [](FrameMaker& m) { return m.fragment(m.split_datagram(), 0, 16, 0x7002, 0x2000).build(); }},
    {"fragment_2_of_2", "fragment 2 of 2 (reassembled by the MoM's stack, served by its socket path)", "none",
     "fragment", true,
     [](FrameMaker& m) { return m.fragment(m.split_datagram(), 16, SIZE_MAX, 0x7002, 16 / 8).build(); }},
    {"not_ipv4", "not IPv4 (ethertype 0x88b5)", "none", "not_ipv4", false,
     [](FrameMaker& m) {
         return PacketBuilder().eth(m.target().dst_mac, m.target().src_mac).raw_l3(0x88b5, Bytes(46, 0)).build();
     }},
    {"udp_to_another_port", "UDP to another port", "none", "not_our_port", false,
     [](FrameMaker& m) {
         return m.strict().udp(40000, static_cast<std::uint16_t>(m.target().port - 1)).build();
     }},
    {"udp_without_payload", "UDP without payload", "none", "no_payload", false,
     [](FrameMaker& m) { return m.udp({}).build(); }},
    // Well-formed frames the router must treat right.
    {"bad_udp_checksum_strict", "bad UDP checksum, strict (routed as is; the receiver's stack drops it)", "strict",
     "redirected", false, [](FrameMaker& m) { return m.strict().bad_udp_checksum().build(); }},
    {"bad_ip_checksum_strict", "bad IP checksum, strict (routed as is; the receiver's stack drops it)", "strict",
     "redirected", false, [](FrameMaker& m) { return m.strict().bad_ip_checksum().build(); }},
    {"bad_udp_checksum_best_effort", "bad UDP checksum, best-effort (to the best-effort CPUs; the MoM's stack drops it)",
     "best_effort", "best_effort", false,
     [](FrameMaker& m) { return m.event(m.target().best_effort_topic).bad_udp_checksum().build(); }},
    {"ip_options_strict", "IP options (NOP NOP NOP EOL), strict", "strict", "redirected", true,
     [](FrameMaker& m) { return m.strict().ip_options({1, 1, 1, 0}).build(); }},
    {"ttl_1_strict", "TTL 1, strict (passed up; the socket path drops it, counted as ttl_expired)", "strict", "ttl", false,
     [](FrameMaker& m) { return m.strict().ttl(1).build(); }},
    {"unknown_topic", "unknown topic (best-effort work: to the best-effort CPUs)", "unknown", "best_effort", false,
     [](FrameMaker& m) { return m.event(m.target().unknown_topic).build(); }},
};

}  // namespace

std::vector<std::string> malformed_case_names() {
    std::vector<std::string> names;
    for (const MalformedCase& c : kCases) names.emplace_back(c.name);
    return names;
}

Result<MalformedFrames> malformed_frames(const MalformedTarget& target, const std::vector<std::string>& names) {
    for (const std::string& name : names)
        if (std::none_of(std::begin(kCases), std::end(kCases), [&](const MalformedCase& c) { return name == c.name; }))
            return Status::error(ErrorCode::invalid_argument, "no malformed-frame case named " + name);
    FrameMaker maker(target);
    MalformedFrames out;
    for (const MalformedCase& c : kCases) {
        if (!names.empty() && std::find(names.begin(), names.end(), c.name) == names.end()) continue;
        out.frames.push_back({c.name, c.description, c.build(maker), c.slot, c.effect, c.delivered});
    }
    out.last_sequence = maker.last_sequence();
    return out;
}

}  // namespace tempos::testkit
