#!/usr/bin/env bash
# ctest smoke test of tempos-bench (not a measurement, no timing thresholds): `all --quick` over prog,
# throughput, latency and fanout must print one JSON object with every field those parts own (`all` checks them:
# its missing_fields), every run succeeding (fanout's fails when its test runs of the fan-out program sent fewer
# copies than they should), strict events in the throughput run delivered by the kernel without reaching the
# MoM's socket, every latency path and every isolation configuration delivering events, and both fan-out paths
# delivering copies (at G = 1 and G = 4, the kernel one without reaching the MoM's socket). Needs root
# (namespaces, XDP); exit 77 = skipped (fails under TEMPOS_REQUIRE_PRIVILEGED=1, as in CI).
set -euo pipefail
BENCH=$1
if [ "$(id -u)" -ne 0 ] || ! ip netns add "tbench-probe-$$" 2>/dev/null; then
    if [ "${TEMPOS_REQUIRE_PRIVILEGED:-}" = 1 ]; then echo "FAIL: needs root and network namespaces" >&2; exit 1; fi
    echo "SKIP: needs root and network namespaces"; exit 77
fi
ip netns del "tbench-probe-$$"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$BENCH" all --quick --runs 1 --only prog --only throughput --only latency --only fanout --timeout 120 >"$out"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
problems = [f"{k}: {d[k]}" for k in ("errors", "missing_fields") if d.get(k) != ({} if k == "errors" else [])]
if d.get("xdp_mom_socket_datagrams") != 0:
    problems.append(f"strict events reached the MoM's socket in the XDP path: {d.get('xdp_mom_socket_datagrams')}")
if not d.get("xdp_mpps", 0) > 0:
    problems.append("the XDP path delivered nothing")
for path in ("direct", "xdp", "socket", "socket_be"):
    if not d.get(f"lat_{path}_delivered", 0) > 0:
        problems.append(f"latency path {path} delivered nothing")
for config in ("on", "off", "socket"):  # the isolation sweep's MoM configurations
    if not d.get(f"lat_be_{config}_flood_delivered_mpps", 0) > 0 or not d.get(f"lat_strict_{config}_idle_p99_us", 0) > 0:
        problems.append(f"isolation {config}: no strict or no best-effort event delivered")
for path in ("kernel", "socket"):
    if not d.get(f"fanout4_{path}_mcps", 0) > 0:
        problems.append(f"fan-out path {path} delivered no copies")
if d.get("fanout4_kernel_mom_socket_datagrams") != 0:
    problems.append(f"fanned-out events reached the MoM's socket in the kernel path: "
                    f"{d.get('fanout4_kernel_mom_socket_datagrams')}")
# G = 1 is the router's redirect into mom:eth1 (no TC fan-out): none may reach the socket either.
if d.get("fanout1_kernel_mom_socket_datagrams") != 0:
    problems.append(f"single-group strict events reached the MoM's socket in the kernel path: "
                    f"{d.get('fanout1_kernel_mom_socket_datagrams')}")
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
