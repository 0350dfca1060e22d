#!/usr/bin/env bash
# Runs the fuzz targets (tests/fuzz) for a bounded number of executions each; ctest runs it with --runs 2000.
#   scripts/fuzz.sh [--build DIR] [--runs N]      N executions per target (default 1000000)
# Seeds: the example configs (config/*.toml). The corpus a run grows goes to a temporary directory, removed at
# the end (nothing is ever written into the tree). Exit status: non-zero when a target crashed or refused an input
# without its file:line; the crashing input is kept under $TMPDIR and named in the output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
runs=1000000
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        *) echo "usage: $0 [--build DIR] [--runs N]" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/tempos-fuzz-XXXXXX")
trap 'rm -rf "$work/corpus"' EXIT
mkdir -p "$work/corpus" "$work/seeds"
cp "$root"/config/*.toml "$work/seeds/"
fuzzer=$build/tests/config_fuzzer
[ -x "$fuzzer" ] || { echo "no $fuzzer: build first (needs clang-14 and libfuzzer-14-dev)" >&2; exit 1; }
echo "config_fuzzer: $runs executions, crashes kept in $work"
status=0
TMPDIR=$work "$fuzzer" -runs="$runs" -max_len=4096 -artifact_prefix="$work/" -print_final_stats=1 \
    "$work/corpus" "$work/seeds" >"$work/log" 2>&1 || status=$?
grep -E "DONE|stat::number_of_executed_units|stat::peak_rss_mb|ERROR|refusal|SUMMARY|artifact" "$work/log" || true
if [ "$status" -eq 0 ]; then rm -rf "$work"; else tail -30 "$work/log"; fi
exit "$status"
