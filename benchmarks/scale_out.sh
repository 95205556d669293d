#!/usr/bin/env bash
# Scale-out figures (benchmarks/RESULTS.md, "Scale-out"): classify on the bundled model over a
# folder of small images, as
#   unsharded: 1 process x 2 threads, `classify --format csv -o FILE`;
#   sharded:   2 array-style tasks x 1 thread at once (`--num-parts 2 --part-id K`), then `merge`;
# repeated and interleaved; prints per run the wall time and CPU time (user+sys of all processes),
# then the medians, and checks the merged CSV is byte-identical to the unsharded one.
#   bash benchmarks/scale_out.sh IMAGE_DIR [REPEATS] [rwkv-vision binary]
# IMAGE_DIR e.g. from: /usr/bin/python3 tools/export_fmnist.py --out /tmp/fmnist   (10,000 images)
# 100,000 images: 10 copies of that tree (cp -r) under one folder.
set -euo pipefail
dir=${1:?image folder}
reps=${2:-3}
bin=${3:-build/apps/rwkv-vision}
T=$(mktemp -d /tmp/rv-scale-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
n=$(find "$dir" -name '*.png' | wc -l)
echo "images: $n, repeats: $reps, load: $(cut -d' ' -f1-3 /proc/loadavg)"
# %e wall, %U user, %S sys of one process
timed() { /usr/bin/time -f "%e %U %S" -o "$1" "${@:2}"; }
declare -a u_wall u_cpu s_wall s_cpu
for r in $(seq "$reps"); do
  rm -rf "$T/out" "$T/u.csv"
  timed "$T/t_u" "$bin" classify -q -m vrwkv_fmnist -i "$dir" --format csv -o "$T/u.csv" --threads 2
  read -r w u s <"$T/t_u"
  u_wall+=("$w"); u_cpu+=("$(echo "$u + $s" | bc)")
  start=$(date +%s.%N)
  for k in 0 1; do
    timed "$T/t_$k" "$bin" classify -q -m vrwkv_fmnist -i "$dir" -o "$T/out" --num-parts 2 --part-id $k --threads 1 &
  done
  wait
  timed "$T/t_m" "$bin" merge -q -o "$T/out"
  end=$(date +%s.%N)
  cmp -s "$T/u.csv" "$T/out/results.csv" || { echo "merged CSV differs from the unsharded one" >&2; exit 1; }
  cpu=$(cat "$T/t_0" "$T/t_1" "$T/t_m" | awk '{c += $2 + $3} END {printf "%.2f", c}')
  merge_wall=$(cut -d' ' -f1 "$T/t_m")
  s_wall+=("$(echo "$end - $start" | bc)"); s_cpu+=("$cpu")
  printf 'run %d: unsharded %6.2f s wall %6.2f s cpu | sharded+merge %6.2f s wall %6.2f s cpu (merge %s s)\n' \
    "$r" "$w" "${u_cpu[-1]}" "${s_wall[-1]}" "$cpu" "$merge_wall"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
uw=$(median "${u_wall[@]}"); uc=$(median "${u_cpu[@]}"); sw=$(median "${s_wall[@]}"); sc=$(median "${s_cpu[@]}")
awk -v n="$n" -v uw="$uw" -v uc="$uc" -v sw="$sw" -v sc="$sc" 'BEGIN {
  printf "median unsharded 1x2 threads: %.2f s wall (%.0f images/s), %.2f s cpu\n", uw, n / uw, uc
  printf "median sharded 2x1 + merge:   %.2f s wall (%.0f images/s), %.2f s cpu\n", sw, n / sw, sc
  printf "overhead of sharding + merge: wall %+.1f%%, cpu %+.1f%%\n", (sw / uw - 1) * 100, (sc / uc - 1) * 100 }'
