#!/usr/bin/env bash
# ctest smoke test of tempos-bench (not a measurement, no timing thresholds): `all --quick` over prog,
# throughput, latency and fanout, each run succeeding with every field `all` requires, and the checks below. Needs
# root (namespaces, XDP); exit 77 = skipped (fails under TEMPOS_REQUIRE_PRIVILEGED=1, as in CI).
set -euo pipefail
BENCH=$1
. "$(dirname "$0")/../tests/e2e/lib.sh"  # require_privileges, E2E_TMP
trap 'rm -rf "$E2E_TMP"' EXIT
require_privileges
out=$E2E_TMP/all.json
"$BENCH" all --quick --runs 1 --only prog --only throughput --only latency --only fanout --timeout 120 >"$out"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
problems = [f"{k}: {d[k]}" for k in ("errors", "missing_fields") if d.get(k) != ({} if k == "errors" else [])]
# Strict events the kernel delivers never reach the MoM's socket: the XDP path, the TC fan-out (G = 4) and the
# router's redirect into mom:eth1 (G = 1, no fan-out).
for field in ("xdp_mom_socket_datagrams", "fanout4_kernel_mom_socket_datagrams", "fanout1_kernel_mom_socket_datagrams"):
    if d.get(field) != 0:
        problems.append(f"strict events reached the MoM's socket in the kernel path: {field} = {d.get(field)}")
# Every path delivered: throughput's XDP path, each latency path, the strict and the best-effort stream of each
# isolation configuration, both fan-out paths at G = 4.
delivered = ["xdp_mpps", *(f"lat_{p}_delivered" for p in ("direct", "xdp", "socket", "socket_be")),
             *(f for c in ("on", "off", "socket") for f in (f"lat_be_{c}_flood_delivered_mpps", f"lat_strict_{c}_idle_p99_us")),
             "fanout4_kernel_mcps", "fanout4_socket_mcps"]
problems += [f"nothing delivered: {f} = {d.get(f)}" for f in delivered if not (d.get(f) or 0) > 0]
runs = d.get("runs", {})
for part in ("prog", "throughput", "latency", "fanout"):
    if len(runs.get(part, [])) != 1:
        problems.append(f"{part}: expected 1 run, got {len(runs.get(part, []))}")
for p in problems:
    print("FAIL:", p, file=sys.stderr)
print("fields:", len(d), "| xdp_mpps", d.get("xdp_mpps"), "| lat_xdp_p50_us", d.get("lat_xdp_p50_us"),
      "| fanout_prog_ns_per_copy", d.get("fanout_prog_ns_per_copy"), "| fanout4_kernel_mcps", d.get("fanout4_kernel_mcps"))
sys.exit(1 if problems else 0)
PY
echo PASS
