#!/usr/bin/env bash
# Builds (through setup.sh) and runs the whole test suite with CTest.
#   bash scripts/test.sh               # Release
#   bash scripts/test.sh --sanitize    # Debug with AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "$@"
build_dir=build
for arg in "$@"; do [ "$arg" = "--sanitize" ] && build_dir=build-asan; done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc 2>/dev/null || echo 2)"
