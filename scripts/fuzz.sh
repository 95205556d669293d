#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, -DRV_FUZZ=ON) and fuzzes each one for a set time, all
# concurrently at low priority; then optionally minimises the corpora into tests/fuzz/corpus/.
# Not part of CI (CI replays the committed corpus through test_fuzz). See tests/fuzz/README.md.
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS=2100] [BUILD_DIR=/work/build-fuzz] [HARNESS...]
#   RV_FUZZ_MERGE=1 scripts/fuzz.sh 0      # only minimise the work corpora into tests/fuzz/corpus
#
# Work corpora and logs: BUILD_DIR/corpus/<name>/, BUILD_DIR/logs/<name>.log; crashes, leaks and
# timeouts: BUILD_DIR/artifacts/<name>/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-2100}
BUILD=${2:-/work/build-fuzz}
shift $(($# < 2 ? $# : 2))
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -gt 0 ]] || HARNESSES=(pth safetensors config image nifti)

# Per-format input size bound: the largest seed plus room to grow; the JSON parser gains nothing
# from megabyte inputs, checkpoints and images need a few tens of KB to keep real structure.
declare -A MAX_LEN=([pth]=65536 [safetensors]=16384 [config]=4096 [image]=65536 [nifti]=65536)

if [[ ! -f $BUILD/build.ninja ]]; then
    CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DRV_FUZZ=ON -DRV_BUILD_TESTS=OFF -DRV_BUILD_BENCHMARKS=OFF -DRV_WERROR=OFF
fi
nice -n 15 ninja -C "$BUILD" -j2 "${HARNESSES[@]/#/fuzz_}"
BIN=$BUILD/tests/fuzz/harness

mkdir -p "$BUILD/seeds"
/usr/bin/python3 "$ROOT/tests/fuzz/make_seeds.py" "$BUILD/seeds" >/dev/null

if [[ $SECONDS_EACH -gt 0 ]]; then
    pids=()
    for h in "${HARNESSES[@]}"; do
        mkdir -p "$BUILD/corpus/$h" "$BUILD/artifacts/$h" "$BUILD/logs"
        # The committed corpus and the seeds start each run; new finds go to the work corpus.
        nice -n 15 "$BIN/fuzz_$h" "$BUILD/corpus/$h" "$ROOT/tests/fuzz/corpus/$h" "$BUILD/seeds/$h" \
            -max_total_time="$SECONDS_EACH" -max_len="${MAX_LEN[$h]}" -rss_limit_mb=2048 -timeout=10 \
            -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$h/" \
            >"$BUILD/logs/$h.log" 2>&1 &
        pids+=($!)
        echo "fuzz_$h: pid $! log $BUILD/logs/$h.log"
    done
    status=0
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    for h in "${HARNESSES[@]}"; do
        echo "== fuzz_$h"
        grep -E "^(stat::|Done )|DONE" "$BUILD/logs/$h.log" || true
        ls "$BUILD/artifacts/$h" 2>/dev/null | sed 's/^/  artifact: /'
    done
    [[ $status -eq 0 ]] || echo "some harness stopped with a finding: see the logs and artifacts" >&2
fi

if [[ ${RV_FUZZ_MERGE:-0} == 1 ]]; then
    for h in "${HARNESSES[@]}"; do
        out=$ROOT/tests/fuzz/corpus/$h
        tmp=$BUILD/merged/$h
        rm -rf "$tmp" && mkdir -p "$tmp"
        nice -n 15 "$BIN/fuzz_$h" -merge=1 -max_len="${MAX_LEN[$h]}" -rss_limit_mb=2048 -timeout=10 \
            "$tmp" "$out" "$BUILD/seeds/$h" "$BUILD/corpus/$h" >"$BUILD/logs/$h.merge.log" 2>&1
        rm -rf "$out" && mkdir -p "$out" && cp "$tmp"/* "$out"/
        echo "corpus $h: $(ls "$out" | wc -l) files, $(du -sk "$out" | cut -f1) KiB"
    done
fi
