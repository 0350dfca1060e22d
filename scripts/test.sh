#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), configures, builds and runs every test with ctest.
# Under CI (CI set) privileged tests (BPF, network namespaces) fail instead of skipping.
#   scripts/test.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/packages.sh
tempos_install_packages

if [ -n "${CI:-}" ]; then
    export TEMPOS_REQUIRE_PRIVILEGED=1
fi

build_dir=${TEMPOS_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j"$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure --timeout 300 "$@"
