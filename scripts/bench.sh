#!/usr/bin/env bash
# Regenerates docs/benchmarks.md and its plots (docs/img/*.png): installs what is missing (Debian packages),
# builds tempos-bench, runs `tempos-bench all --json` (every subcommand RUNS times, interleaved; namespaces,
# so as root) and renders the report. Exits 1 when a part failed or a figure is missing (the report says which).
#   RUNS=3               runs of every subcommand (the report gives medians and min-max)
#   TEMPOS_BUILD_DIR     build directory (default: build)
#   BENCH_TIMEOUT=660    seconds `tempos-bench all` may take in all (528 s measured before `restart`, which adds about 50 s)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${TEMPOS_BUILD_DIR:-$ROOT/build}
RUNS=${RUNS:-3}
start=$(date +%s)

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/bench.sh: needs root (network namespaces, XDP, BPF_PROG_TEST_RUN)" >&2
    exit 1
fi
. "$ROOT/scripts/lib/packages.sh"
# gnuplot for the plots; the brokers and tools `tempos-bench peers` compares with (Cyclone DDS's ddsperf, sockperf).
tempos_install_packages gnuplot-nox mosquitto nats-server cyclonedds-tools sockperf

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
# tempos-bench pulls in what it starts (tempos-mom, the adapter, tempos-pub/-sub, the forwarder).
cmake --build "$BUILD" -j"$(nproc)" --target tempos-bench
export TEMPOS_BUILD_DIR=$BUILD

out=$(mktemp -d /tmp/tempos-bench-sh.XXXXXX)
trap 'rm -rf "$out"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "scripts/bench.sh: tempos-bench all --json --runs $RUNS (load average $load_before) ..."
status=0
timeout --signal=INT --kill-after=20 "${BENCH_TIMEOUT:-660}" \
    "$BUILD/bin/tempos-bench" all --json --runs "$RUNS" --timeout 240 >"$out/all.json" 2>"$out/all.err" || status=$?
if ! python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$out/all.json" 2>/dev/null; then
    echo "scripts/bench.sh: tempos-bench all produced no JSON (exit status $status):" >&2
    tail -n 20 "$out/all.err" >&2
    exit 1
fi
# The raw JSON (every run, with the curves) stays beside the plots it feeds: render_report.py can redo the page.
mkdir -p "$ROOT/docs/img"
cp "$out/all.json" "$ROOT/docs/img/benchmarks-all.json"
python3 "$ROOT/bench/render_report.py" "$out/all.json" "$ROOT/docs/benchmarks.md" "$ROOT/docs/img" \
    --seconds-total "$(($(date +%s) - start))" --load-before "$load_before"
python3 - "$out/all.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps({k: v for k, v in d.items() if k != "runs"}))
PY
echo "scripts/bench.sh: wrote docs/benchmarks.md and docs/img/ in $(($(date +%s) - start)) s"
if [ "$status" -ne 0 ]; then
    echo "scripts/bench.sh: incomplete (tempos-bench all exit status $status); see docs/benchmarks.md" >&2
    tail -n 5 "$out/all.err" >&2
    exit 1
fi
