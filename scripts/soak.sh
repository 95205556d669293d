#!/usr/bin/env bash
# Soak test (not in CI): N images of mixed sizes and formats, ~1% of them corrupt, through
# `rwkv-vision classify` with 2 threads and with 1 thread. Checks: no crash (exit status 3: the
# corrupt files fail alone), every corrupt file reported on stderr, the 2-thread results
# byte-identical to the 1-thread results, and RSS flat over time (VmRSS sampled from
# /proc/PID/status; mean of the first vs the last 10% of the samples).
#
#   scripts/soak.sh [CLI=/work/build-harden/apps/rwkv-vision] [N=10000] [WORK=/tmp/rv-soak]
#   MODEL / CONFIG: the classifier (default: the bundled vrwkv_fmnist)
set -euo pipefail
CLI=${1:-/work/build-harden/apps/rwkv-vision}
N=${2:-10000}
WORK=${3:-/tmp/rv-soak}
MODEL=${MODEL:-vrwkv_fmnist}
CONFIG_ARGS=()
[[ -n ${CONFIG:-} ]] && CONFIG_ARGS=(--config "$CONFIG")

mkdir -p "$WORK"
if [[ ! -f $WORK/images/.done-$N ]]; then
    rm -rf "$WORK/images"
    /usr/bin/python3 - "$WORK/images" "$N" <<'PY'
import os, sys
import cv2
import numpy as np
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
rng = np.random.default_rng(2024)
corrupt = []
for i in range(n):
    sub = os.path.join(out, f"{i // 1000:02d}")
    os.makedirs(sub, exist_ok=True)
    h, w = (int(v) for v in rng.integers(8, 400, 2))
    ext = ("png", "jpg", "bmp", "webp")[i % 4]
    path = os.path.join(sub, f"img{i:05d}.{ext}")
    if i % 97 == 13:  # ~1%: truncated, garbage or empty
        kind = (i // 97) % 3
        if kind == 0:
            ok, buf = cv2.imencode("." + ext, np.zeros((h, w, 3), np.uint8))
            data = buf.tobytes()[: max(1, len(buf) // 3)]
        elif kind == 1:
            data = rng.integers(0, 256, 500, dtype=np.uint8).tobytes()
        else:
            data = b""
        open(path, "wb").write(data)
        corrupt.append(path)
        continue
    # Smooth random content (a noise field upsampled), 1 or 3 channels.
    small = rng.integers(0, 256, (max(1, h // 8), max(1, w // 8), 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if i % 5 == 0:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(path, img)
open(os.path.join(out, "..", "corrupt.txt"), "w").write("\n".join(corrupt) + "\n")
open(os.path.join(out, f".done-{n}"), "w").write("")
PY
fi
echo "images: $N in $WORK/images, corrupt: $(wc -l < "$WORK/corrupt.txt")"

# run THREADS TAG: classify the folder, sampling RSS every 0.5 s.
run() {
    local threads=$1 tag=$2 status
    local start=$SECONDS
    nice -n 10 "$CLI" classify -q -m "$MODEL" "${CONFIG_ARGS[@]}" --threads "$threads" --format csv \
        -o "$WORK/$tag.csv" -i "$WORK/images" 2>"$WORK/$tag.err" &
    local pid=$!
    : >"$WORK/$tag.rss"
    while kill -0 "$pid" 2>/dev/null; do
        awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null >>"$WORK/$tag.rss" || true
        sleep 0.5
    done
    wait "$pid" && status=0 || status=$?
    echo "$tag: exit status $status, $((SECONDS - start)) s, $(grep -c . "$WORK/$tag.csv") csv lines"
    if [[ $status -ge 128 ]]; then echo "FAIL: $tag ended by signal $((status - 128))"; exit 1; fi
    if [[ $status -ne 3 ]]; then echo "FAIL: $tag exit status $status, expected 3"; exit 1; fi
    local missing=0
    # A truncated JPEG is decoded with grey rows and no error (as by cv2 and mmcls; README, image.h):
    # it may be classified instead of reported. Every other corrupt file must be reported.
    while read -r f; do
        n=$(basename "$f")
        grep -qF "$n" "$WORK/$tag.err" && continue
        if [[ $f == *.jpg && -s $f ]] && grep -qF "$n" "$WORK/$tag.csv"; then continue; fi
        echo "not reported: $f"
        missing=1
    done <"$WORK/corrupt.txt"
    [[ $missing -eq 0 ]] || { echo "FAIL: $tag did not report every corrupt file"; exit 1; }
    /usr/bin/python3 - "$WORK/$tag.rss" "$tag" <<'PY'
import sys
v = [int(x) for x in open(sys.argv[1]) if x.strip()]
k = max(1, len(v) // 10)
first, last = sum(v[:k]) / k / 1024, sum(v[-k:]) / k / 1024
print(f"{sys.argv[2]}: RSS samples {len(v)}, first 10% mean {first:.1f} MiB, last 10% mean {last:.1f} MiB, "
      f"max {max(v) / 1024:.1f} MiB, last/first {last / first:.3f}")
PY
}

run 2 t2
run 1 t1
if cmp -s "$WORK/t1.csv" "$WORK/t2.csv"; then
    echo "results: 2-thread output identical to 1-thread output"
else
    echo "FAIL: 2-thread output differs from 1-thread output"; exit 1
fi
