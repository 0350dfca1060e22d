#!/usr/bin/env bash
# The traffic tools themselves, on loopback in a private network namespace: tempos-sub counts a payload that
# differs from tempos-pub's pattern as corrupt, reports first/last send times inside the publisher's run, and
# --report-every prints interim JSON lines before the final report; tempos-pub stopped by SIGTERM exits 0 and
# reports exactly the events it sent.
. "$(dirname "$0")/lib.sh"
require_privileges
trap 'rm -rf "$E2E_TMP"' EXIT
unshare -n bash -s "$BIN" "$E2E_TMP" <<'SH' || fail "tools self-check failed"
set -euo pipefail
BIN=$1 TMP=$2
ip link set lo up
"$BIN/tempos-sub" --listen 127.0.0.1:9998 --count 101 --timeout 20 --json --report-every 0.2 \
    --ready-file "$TMP/ready" >"$TMP/sub.json" &
sub=$!
for _ in $(seq 50); do [ -f "$TMP/ready" ] && break; sleep 0.1; done
before=$(python3 -c 'import time; print(time.monotonic_ns())')
"$BIN/tempos-pub" --to 127.0.0.1:9998 --topic 7 --count 100 --rate 200 --size 64 2>/dev/null
after=$(python3 -c 'import time; print(time.monotonic_ns())')
# One more event of topic 7 whose last payload byte is not the pattern (sequence 500, 64 bytes).
python3 - <<'PY'
import socket, struct, time
seq = 500
payload = bytearray(struct.pack("<BQQ", 7, seq, time.monotonic_ns()) + bytes((seq * 31 + i) & 0xFF for i in range(17, 64)))
payload[-1] ^= 0xFF
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(payload, ("127.0.0.1", 9998))
PY
wait "$sub"
python3 - "$TMP/sub.json" "$before" "$after" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
before, after = int(sys.argv[2]), int(sys.argv[3])
interim, final = lines[:-1], lines[-1]
t = final["topics"]["7"]
print(f"interim lines {len(interim)}; unique {t['unique']} corrupt {t['corrupt']} gaps {t['gaps']};"
      f" first/last send within the publisher's run: {before <= t['first_sent_ns'] <= t['last_sent_ns']}")
assert interim and all(l["interim"] and "interval_p99_us" in l["topics"].get("7", {"interval_p99_us": 0}) for l in interim)
assert sum(l["topics"].get("7", {}).get("interval_received", 0) for l in interim) <= final["received"]
assert t["unique"] == 101 and t["corrupt"] == 1 and t["duplicates"] == 0
assert before <= t["first_sent_ns"] < after and t["max_seq"] == 500
PY
# tempos-pub with far more to send than it will: SIGTERM once events arrive; its "sent" is what tempos-sub got.
rm -f "$TMP/ready"
"$BIN/tempos-sub" --listen 127.0.0.1:9998 --timeout 60 --json --ready-file "$TMP/ready" >"$TMP/sub2.json" &
sub=$!
for _ in $(seq 50); do [ -f "$TMP/ready" ] && break; sleep 0.1; done
"$BIN/tempos-pub" --to 127.0.0.1:9998 --topic 8 --count 100000000 --rate 500 --json >"$TMP/pub.json" &
pub=$!
in_datagrams() { awk '/^Udp: [0-9]/ {print $2}' /proc/net/snmp; }
for _ in $(seq 100); do [ "$(in_datagrams)" -ge 220 ] && break; sleep 0.1; done
kill -TERM "$pub"
wait "$pub"  # set -e: a stop on request exits 0
for _ in $(seq 50); do [ "$(in_datagrams)" -ge "$((101 + $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$TMP/pub.json")))" ] && break; sleep 0.1; done
kill -INT "$sub"
wait "$sub" || true
python3 - "$TMP/pub.json" "$TMP/sub2.json" <<'PY'
import json, sys
pub, sub = json.load(open(sys.argv[1])), json.loads(open(sys.argv[2]).read().splitlines()[-1])
t = sub["topics"]["8"]
print(f"tempos-pub stopped: {pub['stopped']}, sent {pub['sent']}, errors {pub['errors']}; tempos-sub unique {t['unique']}")
assert pub["stopped"] and pub["errors"] == 0 and 100 <= pub["sent"] < 100000000
assert t["unique"] == pub["sent"] and t["duplicates"] == 0
PY
SH
echo PASS
