#!/usr/bin/env python3
"""Sends hand-made Ethernet frames to the MoM from an AF_PACKET socket (scenario 8) and prints, as one JSON
object, what each kind should do: the router's pass reason (or a redirect) and whether a subscriber should
receive it. Event payloads follow tools/event_format.hpp: topic, sequence, CLOCK_MONOTONIC send time (all
little-endian), then tempos-pub's pattern byte[i] = (sequence * 31 + i) & 0xff."""
import argparse
import json
import socket
import struct
import time

ETH_P_IP = 0x0800
IPPROTO_UDP = 17
HEADER_SIZE = 17


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def event(topic: int, sequence: int, size: int = 32, sent_ns=None) -> bytes:
    sent_ns = time.monotonic_ns() if sent_ns is None else sent_ns
    body = struct.pack("<BQQ", topic, sequence, sent_ns)
    return body + bytes((sequence * 31 + i) & 0xFF for i in range(HEADER_SIZE, size))


class Frames:
    def __init__(self, a):
        self.src_mac = bytes.fromhex(a.src_mac.replace(":", ""))
        self.dst_mac = bytes.fromhex(a.dst_mac.replace(":", ""))
        self.src_ip = socket.inet_aton(a.src_ip)
        self.dst_ip = socket.inet_aton(a.dst_ip)
        self.port = a.port
        self.ip_id = 0x4000

    def eth(self, payload: bytes, ethertype: int = ETH_P_IP) -> bytes:
        return self.dst_mac + self.src_mac + struct.pack("!H", ethertype) + payload

    def udp(self, payload: bytes, dport=None, length=None, csum="good") -> bytes:
        """A UDP header and payload; `length` lies about the size, csum is good, bad or zero."""
        dport = self.port if dport is None else dport
        real = 8 + len(payload)
        header = struct.pack("!HHHH", 40000, dport, real if length is None else length, 0)
        pseudo = self.src_ip + self.dst_ip + struct.pack("!BBH", 0, IPPROTO_UDP, real)
        value = checksum(pseudo + header + payload) or 0xFFFF
        if csum == "bad":
            value ^= 0x00FF
        elif csum == "zero":
            value = 0
        return header[:6] + struct.pack("!H", value) + payload

    def ip(self, l4: bytes, *, ttl=64, flags_frag=0, ip_id=None, options=b"", tot_len=None, ihl=None,
           csum="good", proto=IPPROTO_UDP) -> bytes:
        self.ip_id += 1
        hl = 20 + len(options)
        ver_ihl = 0x40 | ((hl // 4) if ihl is None else ihl)
        length = hl + len(l4) if tot_len is None else tot_len
        header = struct.pack("!BBHHHBBH4s4s", ver_ihl, 0, length, self.ip_id if ip_id is None else ip_id,
                             flags_frag, ttl, proto, 0, self.src_ip, self.dst_ip) + options
        value = checksum(header)
        if csum == "bad":
            value ^= 0x00FF
        return header[:10] + struct.pack("!H", value) + header[12:] + l4


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("ifname", "src-mac", "dst-mac", "src-ip", "dst-ip"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--strict-topic", type=int, required=True)
    parser.add_argument("--best-effort-topic", type=int, required=True)
    parser.add_argument("--unknown-topic", type=int, required=True)
    parser.add_argument("--first-sequence", type=int, default=1_000_000)
    a = parser.parse_args()
    f = Frames(a)
    strict, seq = a.strict_topic, a.first_sequence
    cases = []  # (name, frame, where the router counts it, expected effect, delivered to a subscriber)

    def add(name, frame, slot, effect, delivered=False):
        cases.append((name, frame, slot, effect, delivered))

    def next_seq():
        nonlocal seq
        seq += 1
        return seq

    good_ip = f.ip(f.udp(event(strict, next_seq())))
    add("truncated IPv4 header", f.eth(good_ip[:12]), "none", "malformed")
    add("IP total length beyond the frame", f.eth(f.ip(f.udp(event(strict, next_seq())), tot_len=20 + 40 + 20)),
        "none", "malformed")
    add("IP total length below the header", f.eth(f.ip(f.udp(event(strict, next_seq())), tot_len=16)), "none",
        "malformed")
    add("IP header length 4 words", f.eth(f.ip(f.udp(event(strict, next_seq())), ihl=4)), "none", "malformed")
    add("UDP length beyond the datagram", f.eth(f.ip(f.udp(event(strict, next_seq()), length=8 + 32 + 16))),
        "none", "malformed")
    add("UDP length below its header", f.eth(f.ip(f.udp(event(strict, next_seq()), length=4))), "none",
        "malformed")
    # UDP length shorter than the IP payload: the router refuses it (its rule: the lengths must agree), the MoM's
    # stack takes the UDP length as the datagram's end (the rest is padding, RFC 768) and the checksum is
    # right for that shorter datagram: the MoM's socket path serves a 20-byte event. (A checksum right only for
    # the whole IP payload would not be deterministic: GRO on a veth or NIC on the way verifies it over the IP
    # payload and marks it good before the stack trims, see docs/e2e.md.)
    short_payload = event(strict, next_seq(), size=HEADER_SIZE + 3) + bytes(12)
    trimmed = f.udp(short_payload[:HEADER_SIZE + 3])
    add("UDP length below the datagram (trailing padding)", f.eth(f.ip(trimmed + short_payload[HEADER_SIZE + 3:])),
        "none", "malformed", delivered=True)

    # Fragments: the router passes them (no UDP header in later fragments); the MoM's stack reassembles.
    lone = f.udp(event(strict, next_seq()))
    add("first fragment alone (never completed)", f.eth(f.ip(lone[:16], flags_frag=0x2000, ip_id=0x7001)), "none",
        "fragment")
    whole = f.udp(event(strict, next_seq()))
    add("fragment 1 of 2", f.eth(f.ip(whole[:16], flags_frag=0x2000, ip_id=0x7002)), "none", "fragment")
    add("fragment 2 of 2 (reassembled by the MoM's stack, served by its socket path)",
        f.eth(f.ip(whole[16:], flags_frag=16 // 8, ip_id=0x7002)), "none", "fragment", delivered=True)

    add("not IPv4 (ethertype 0x88b5)", f.eth(b"\0" * 46, ethertype=0x88B5), "none", "not_ipv4")
    add("UDP to another port", f.eth(f.ip(f.udp(event(strict, next_seq()), dport=a.port - 1))), "none",
        "not_our_port")
    add("UDP without payload", f.eth(f.ip(f.udp(b""))), "none", "no_payload")

    # Well-formed frames the router must treat right.
    add("bad UDP checksum, strict (routed as is; the receiver's stack drops it)",
        f.eth(f.ip(f.udp(event(strict, next_seq()), csum="bad"))), "strict", "redirected")
    add("bad IP checksum, strict (routed as is; the receiver's stack drops it)",
        f.eth(f.ip(f.udp(event(strict, next_seq())), csum="bad")), "strict", "redirected")
    add("bad UDP checksum, best-effort (the MoM's stack drops it)",
        f.eth(f.ip(f.udp(event(a.best_effort_topic, next_seq()), csum="bad"))), "best_effort", "not_strict")
    add("IP options (NOP NOP NOP EOL), strict", f.eth(f.ip(f.udp(event(strict, next_seq())), options=b"\1\1\1\0")),
        "strict", "redirected", delivered=True)
    add("TTL 1, strict (passed up, served by the socket path)",
        f.eth(f.ip(f.udp(event(strict, next_seq())), ttl=1)), "strict", "ttl", delivered=True)
    add("unknown topic", f.eth(f.ip(f.udp(event(a.unknown_topic, next_seq())))), "unknown", "not_strict")

    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((a.ifname, 0))
        for name, frame, *_ in cases:
            if s.send(frame) != len(frame):
                raise SystemExit(f"short send: {name}")
            time.sleep(0.002)

    expected = {}
    for _, _, slot, effect, _ in cases:
        expected.setdefault(slot, {}).setdefault(effect, 0)
        expected[slot][effect] += 1
    print(json.dumps({"cases": [c[0] for c in cases], "expected": expected,
                      "delivered": sum(1 for c in cases if c[4]), "last_sequence": seq}))


if __name__ == "__main__":
    main()
