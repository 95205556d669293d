#!/usr/bin/env bash
# The shard contract on a real Slurm (docs/scale-out.md): starts munge and a single-node Slurm in a
# temporary folder (private munge socket, cred_expire=10, non-default ports, daemons started by hand
# and killed by PID on exit) and checks, on a folder of real images with one corrupt file:
#   1. an array run fails only the corrupt file's shard (exit 3, its .failed list names the file);
#      merge names that part id;
#   2. fixing the file and resubmitting that index completes the job;
#   3. the merged CSV is byte-identical to an unsharded `classify --format csv`;
#   4. a node set DOWN mid-run gets its tasks requeued, and they finish without redoing the
#      images they had committed; the merge is again byte-identical to an unsharded run;
#   5. GNU parallel (--joblog, --resume-failed) gives the same results.csv.
# Prints SKIP and exits 77 without root, Slurm, munge or GNU parallel.
#   bash tests/scale_out/slurm_test.sh [path/to/rwkv-vision]     (default: build/apps/rwkv-vision)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=$(realpath -m "${1:-${RWKV_VISION:-build/apps/rwkv-vision}}")

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (starts munged, slurmctld and slurmd)"
for tool in munged slurmctld slurmd sbatch scontrol squeue parallel; do
  command -v "$tool" >/dev/null || skip "$tool not installed (apt-get install slurm-wlm munge parallel)"
done
[ -x "$bin" ] || skip "no rwkv-vision binary at $bin (build it first)"

t0=$SECONDS
T=$(mktemp -d /tmp/rv-slurm-XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
  local rc=$?
  set +e
  [ -n "${SLURM_CONF:-}" ] && scancel --quiet --user=root >/dev/null 2>&1
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    echo "--- slurm_test failed (status $rc); logs:" >&2
    tail -n 20 "$T"/slurmctld.log "$T"/slurmd.log "$T"/logs/* 2>/dev/null >&2
  fi
  [ -n "${RV_KEEP:-}" ] && { echo "kept $T"; exit "$rc"; }
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { printf '[%3ds] %s\n' $((SECONDS - t0)) "$*"; }

# --- munge, private: its own key, socket, pid and log in $T -------------------------------------
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/logs"
chmod 711 "$T/munge"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed" \
  --foreground >"$T/logs/munged.out" 2>&1 &
pids+=($!)

# --- single-node Slurm: non-default ports, everything in $T -------------------------------------
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
cat >"$T/slurm.conf" <<EOF
ClusterName=rvtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.sock,cred_expire=10
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
JobRequeue=1
ReturnToService=2
MinJobAge=600
KillWait=2
SlurmdTimeout=30
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
for _ in $(seq 50); do [ -S "$T/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$T/munge/munge.sock" ] || fail "munged did not start"
slurmctld -D -i -f "$SLURM_CONF" >"$T/logs/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$T/logs/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  sinfo -h -o %t 2>/dev/null | grep -qx idle && break
  sleep 0.2
done
sinfo -h -o %t | grep -qx idle || fail "the node did not become idle"
say "munge + slurmctld + slurmd up (port $port)"

# --- images: real Fashion-MNIST samples under many names, one corrupt ---------------------------
# D: 6 samples x 50 copies in 4 folders + 1 corrupt file = 301 images, 16 per checkpoint.
# D2 (the node-failure run): 72 of them at --input-size 224, slow enough (~45 ms an image) that
# the node goes down while both tasks are mid-part, 4 images per checkpoint.
D=$T/images
D2=$T/images2
for i in $(seq -w 0 49); do
  sub=$D/batch$((10#$i % 4))
  mkdir -p "$sub" "$D2"
  for f in data/samples/fmnist/*.png; do
    cp "$f" "$sub/${i}_$(basename "$f")"
    [ $((10#$i)) -lt 12 ] && cp "$f" "$D2/${i}_$(basename "$f")"
  done
done
printf 'this is not a png' >"$D/batch2/25_corrupt.png"
nimages=$(find "$D" -name '*.png' | wc -l)

# Every task runs the same command; N is written into the script, never read from Slurm
# (SLURM_ARRAY_TASK_COUNT is 1 on a partial resubmit).
cat >"$T/classify.sbatch" <<EOF
#!/bin/bash
#SBATCH --cpus-per-task=1
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=$T/logs/%x-%a.log
echo "attempt restart=\${SLURM_RESTART_COUNT:-0}"
in=\$1 out=\$2 n=\$3
shift 3
exec "$bin" classify -m vrwkv_fmnist -i "\$in" -o "\$out" --num-parts "\$n" --part-id "\$SLURM_ARRAY_TASK_ID" "\$@"
EOF

# Submits an array and waits until every task has ended; prints "task state exitcode" lines.
run_array() {  # name array N input out
  local name=$1 array=$2 n=$3 in=$4 out=$5 job
  job=$(sbatch --parsable -J "$name" --array="$array" "$T/classify.sbatch" "$in" "$out" "$n" --chunk 16)
  wait_job "$job"
  echo "$job"
}
wait_job() {
  for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  fail "job $1 did not finish"
}
# "index state exitcode" of each task of array job $1
task_states() {
  scontrol -o show job "$1" | sed -n 's/.*ArrayTaskId=\([0-9]*\) .*JobState=\([A-Z_]*\) .*ExitCode=\([0-9:]*\).*/\1 \2 \3/p' | sort -n
}

# --- 1. array run: only the corrupt file's shard fails -----------------------------------------
N=4
out=$T/out
job=$(run_array cls 0-$((N - 1)) $N "$D" "$out")
states=$(task_states "$job")
echo "$states" | sed 's/^/    task /'
failed_ids=$(echo "$states" | awk '$2 != "COMPLETED" {print $1}' | paste -sd,)
[ "$(echo "$states" | wc -l)" -eq "$N" ] || fail "expected $N tasks, got: $states"
[ -n "$failed_ids" ] && [ "${failed_ids//,/}" = "$failed_ids" ] || fail "expected exactly one failed task, got '$failed_ids'"
echo "$states" | grep -q "^$failed_ids FAILED 3:0$" || fail "the failed task should exit 3: $states"
grep -q "25_corrupt.png" "$out"/_parts/part-0000"$failed_ids"-of-0000$N.failed || fail "the .failed list does not name the corrupt file"
set +e
missing=$("$bin" merge -q -o "$out")
rc=$?
set -e
[ "$rc" -eq 3 ] && [ "$missing" = "$failed_ids" ] || fail "merge should name part $failed_ids (got '$missing', status $rc)"
say "array of $N: only task $failed_ids failed (exit 3, corrupt file listed); merge names it"

# --- 2. fix the file, resubmit that index only --------------------------------------------------
cp data/samples/fmnist/bag_00018.png "$D/batch2/25_corrupt.png"
job=$(run_array cls "$missing" $N "$D" "$out")
task_states "$job" | grep -q "^$failed_ids COMPLETED 0:0$" || fail "the resubmitted task did not complete: $(task_states "$job")"
grep -q "already done, 1 to run" "$T/logs/cls-$failed_ids.log" || fail "the resubmit should run only the fixed image"
"$bin" merge -q -o "$out" || fail "merge after the resubmit"
say "resubmitted --array=$missing: it ran 1 image; merge complete"

# --- 3. byte-identical to an unsharded run ------------------------------------------------------
"$bin" classify -q -m vrwkv_fmnist -i "$D" --format csv -o "$T/unsharded.csv"
cmp "$T/unsharded.csv" "$out/results.csv" || fail "merged CSV differs from the unsharded run"
[ "$(wc -l <"$out/results.csv")" -eq $((1 + nimages * 5)) ] || fail "results.csv has the wrong number of rows"
say "merged results.csv is byte-identical to the unsharded CSV ($nimages images)"

# --- 4. node DOWN mid-run: tasks requeued, committed checkpoints not redone ----------------------
out2=$T/out2
slow=(--input-size 224 --chunk 4)
job=$(sbatch --parsable -J down --array=0-1 "$T/classify.sbatch" "$D2" "$out2" 2 "${slow[@]}")
# Wait until both tasks have committed a checkpoint, then take the node down under them.
for _ in $(seq 300); do
  c0=$( (ls "$out2"/_parts/part-00000-of-00002.chunks 2>/dev/null || true) | wc -l)
  c1=$( (ls "$out2"/_parts/part-00001-of-00002.chunks 2>/dev/null || true) | wc -l)
  [ "$c0" -ge 1 ] && [ "$c1" -ge 1 ] && break
  sleep 0.05
done
[ "$c0" -ge 1 ] && [ "$c1" -ge 1 ] || fail "the tasks committed no checkpoints"
[ ! -e "$out2/_parts/part-00000-of-00002.csv" ] || fail "task 0 finished before the node went down (too few images)"
scontrol update NodeName="$host" State=DOWN Reason=slurm_test
say "node set DOWN with checkpoints committed ($c0 and $c1 chunks)"
# RESUME is refused while the killed tasks are still completing: retry for a few seconds.
for _ in $(seq 50); do
  scontrol update NodeName="$host" State=RESUME 2>/dev/null && break
  sleep 0.2
done
sinfo -h -o %t | grep -qv down || fail "the node did not come back: $(sinfo -h -o '%t %E')"
wait_job "$job"
states=$(task_states "$job")
[ "$(echo "$states" | grep -c ' COMPLETED 0:0$')" -eq 2 ] || fail "requeued tasks did not complete: $states"
for k in 0 1; do
  log=$T/logs/down-$k.log
  grep -q "attempt restart=1" "$log" || fail "task $k was not requeued: $(cat "$log")"
  # The second attempt reports "part k of 2: X images, D already done, P to run" with D > 0.
  line=$(grep "of 2: .* already done" "$log" | tail -n 1)
  total=$(echo "$line" | sed 's/.*: \([0-9]*\) images.*/\1/')
  done_=$(echo "$line" | sed 's/.*images, \([0-9]*\) already done.*/\1/')
  todo=$(echo "$line" | sed 's/.*done, \([0-9]*\) to run.*/\1/')
  [ "$done_" -gt 0 ] && [ $((done_ + todo)) -eq "$total" ] || fail "task $k redid finished images: $line"
  echo "    task $k after requeue: $total images, $done_ already done, $todo run again"
done
"$bin" merge -q -o "$out2" || fail "merge after the requeue"
"$bin" classify -q -m vrwkv_fmnist -i "$D2" "${slow[@]}" --format csv -o "$T/unsharded2.csv"
cmp "$T/unsharded2.csv" "$out2/results.csv" || fail "merged CSV after the requeue differs from the unsharded run"
say "requeued tasks finished without redoing committed images; merge byte-identical"

# --- 5. GNU parallel: the same contract, the same bytes -----------------------------------------
out3=$T/out3
cp "$D/batch2/25_corrupt.png" "$T/fixed.png"
printf 'this is not a png' >"$D/batch2/25_corrupt.png"
cmd=("$bin" classify -q -m vrwkv_fmnist -i "$D" -o "$out3" --num-parts 4 --threads 1 --part-id)
set +e
parallel --will-cite -j 2 --joblog "$T/joblog" "${cmd[@]}" {} ::: 0 1 2 3
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "GNU parallel should report one failed job (status $rc)"
cp "$T/fixed.png" "$D/batch2/25_corrupt.png"
parallel --will-cite -j 2 --joblog "$T/joblog" --resume-failed "${cmd[@]}" {} ::: 0 1 2 3 || fail "parallel --resume-failed"
[ "$(awk 'NR > 1' "$T/joblog" | wc -l)" -eq 5 ] || fail "--resume-failed should rerun exactly one job"
"$bin" merge -q -o "$out3" || fail "merge of the GNU parallel run"
cmp "$T/unsharded.csv" "$out3/results.csv" || fail "GNU parallel's merged CSV differs"
say "GNU parallel (--joblog, --resume-failed) gives the same results.csv"
echo "PASS: slurm_test ($((SECONDS - t0)) s)"
