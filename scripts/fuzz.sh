#!/usr/bin/env bash
# Runs the fuzz targets (tests/fuzz) for a bounded number of executions each; ctest runs them with --runs 2000.
#   scripts/fuzz.sh [--build DIR] [--runs N] [--target config|router|fanout] [-- LIBFUZZER_FLAG...]
#   N executions per target (default 1000000); without --target: all three; flags after -- go to libFuzzer as they are
#   (e.g. -use_value_profile=1, -seed=N).
#   config: the Controller TOML loader; seeds: the example configs (config/*.toml).
#   router: the XDP router against its reference model (differential); seeds: the router fixture table's frames,
#           written by the target itself (TEMPOS_FUZZ_SEEDS). Needs root (BPF, a network namespace): without it
#           the target is skipped (exit 77), unless TEMPOS_REQUIRE_PRIVILEGED=1 (then it fails).
#   fanout: the TC fan-out program against its reference model (differential, clones captured); seeds: the
#           fan-out tests' frames for every topic of its world, written by the target. Needs root like router.
# Corpora and seeds go to a temporary directory, removed at the end (nothing is ever written into the tree). Exit
# status: non-zero when a target crashed, refused a config without its file:line, or found a program and its model
# to differ; the input is kept under that directory, named in the output. 77: every target run was skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
runs=1000000
targets="config router fanout"
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --target) targets=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "usage: $0 [--build DIR] [--runs N] [--target config|router|fanout] [-- LIBFUZZER_FLAG...]" >&2; exit 2 ;;
    esac
done

# run_target NAME MAX_LEN: the fuzzer build/tests/NAME_fuzzer over $work/NAME/{corpus,seeds}.
run_target() {
    local name=$1 max_len=$2 dir=$work/$1 fuzzer=$build/tests/$1_fuzzer status=0
    shift 2
    [ -x "$fuzzer" ] || { echo "no $fuzzer: build first (needs clang-14 and libfuzzer-14-dev)" >&2; return 1; }
    mkdir -p "$dir/corpus" "$dir/seeds"
    [ "$name" = config ] && cp "$root"/config/*.toml "$dir/seeds/"
    echo "$name fuzzer: $runs executions, crashes kept in $dir"
    # -error_exitcode=1: libFuzzer's default (77) is ctest's skip code.
    TMPDIR=$dir TEMPOS_FUZZ_SEEDS=$dir/seeds "$fuzzer" -runs="$runs" -max_len="$max_len" -error_exitcode=1 \
        -artifact_prefix="$dir/" -print_final_stats=1 "$@" "$dir/corpus" "$dir/seeds" >"$dir/log" 2>&1 || status=$?
    rm -rf "$dir/corpus"
    grep -E "INITED|DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|ERROR|refusal|SUMMARY|artifact|skipped|cannot run" \
        "$dir/log" || true
    if [ "$status" -eq 0 ] || [ "$status" -eq 77 ]; then
        rm -rf "$dir"
    elif [ "$status" -ne 77 ]; then
        sed -n '/====/,/^input/p' "$dir/log" | head -60
        tail -30 "$dir/log"
    fi
    return "$status"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/tempos-fuzz-XXXXXX")
trap 'rm -rf "$work"/*/corpus' EXIT
overall=0 ran=0
for target in $targets; do
    case $target in
        config) max_len=4096 ;;
        router) max_len=3072 ;;  # BPF_PROG_TEST_RUN takes a linear XDP frame of at most a page minus headroom
        fanout) max_len=3072 ;;  # and a linear skb of about as much
        *) echo "unknown target $target (config, router, fanout)" >&2; exit 2 ;;
    esac
    status=0
    run_target "$target" "$max_len" "$@" || status=$?
    if [ "$status" -eq 77 ]; then continue; fi
    ran=1
    [ "$status" -eq 0 ] || overall=$status
done
rmdir "$work" 2>/dev/null || true
[ "$ran" -eq 1 ] || exit 77
exit "$overall"
