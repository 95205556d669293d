#!/usr/bin/python3
"""rwkv-vision's ops::Conv2d vs PyTorch's conv2d on the Restore-RWKV / RWKV-UNet shapes, in one run.

Usage:
  export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
  nice -n 10 /usr/bin/python3 benchmarks/ops/compare_dense_ops.py --bench BUILD/benchmarks/rv_bench_ops

Ours: the BM_Conv2d/onednn cases of rv_bench_ops (Google Benchmark, median of --reps repetitions).
PyTorch: F.conv2d on an NCHW tensor and on a channels_last one (PyTorch's NHWC path), median of
--reps timed loops, at the same thread count (torch.set_num_threads), one shape at a time (ours,
then PyTorch). For 1 thread the CPU-time ratio is the fairer number on a shared machine; for 2
threads only wall time means anything (ours: CPU time of the calling thread only; PyTorch: of the
process).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time

import torch
import torch.nn.functional as F

# H = W, Cin, Cout, k, groups, threads — the same list as CONV_SHAPES in bench_conv2d.cpp.
SHAPES = [
    (256, 48, 48, 3, 1, 1), (256, 48, 48, 3, 1, 2), (256, 48, 48, 5, 48, 1), (256, 48, 48, 5, 48, 2),
    (64, 384, 384, 5, 384, 1), (56, 96, 96, 9, 96, 1), (56, 96, 96, 9, 96, 2), (56, 96, 384, 1, 1, 1),
    (56, 96, 384, 1, 1, 2), (256, 1, 48, 3, 1, 1), (256, 96, 1, 3, 1, 1),
]


def time_torch(shape, channels_last, reps, min_time):
    hw, cin, cout, k, groups, threads = shape
    torch.set_num_threads(threads)
    x = torch.rand(1, cin, hw, hw)
    w = torch.rand(cout, cin // groups, k, k)
    b = torch.rand(cout)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        w = w.contiguous(memory_format=torch.channels_last)
    walls, cpus = [], []
    with torch.no_grad():
        F.conv2d(x, w, b, 1, k // 2, 1, groups)  # warm-up
        for _ in range(reps):
            n, t0, c0 = 0, time.perf_counter(), time.process_time()
            while True:
                F.conv2d(x, w, b, 1, k // 2, 1, groups)
                n += 1
                if time.perf_counter() - t0 >= min_time:
                    break
            walls.append((time.perf_counter() - t0) / n)
            cpus.append((time.process_time() - c0) / n)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def time_ours(bench, shape, reps, min_time):
    name = "BM_Conv2d/onednn/" + "/".join(str(v) for v in shape) + "/real_time$"
    out = subprocess.run([bench, f"--benchmark_filter={name}", f"--benchmark_repetitions={reps}",
                          f"--benchmark_min_time={min_time}", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/")  # BM_Conv2d/onednn/H/Cin/Cout/k/g/threads/real_time
        key = tuple(int(p) for p in parts[2:8])
        scale = {"ms": 1.0, "us": 1e-3, "ns": 1e-6}[b["time_unit"]]
        res[key] = (b["real_time"] * scale, b["cpu_time"] * scale, b.get("label", ""))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", required=True, help="path of rv_bench_ops")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.2)
    args = ap.parse_args()
    print("| shape (H=W, Cin→Cout, k, groups) | thr | ours wall / cpu ms | torch NCHW wall / cpu ms | "
          "torch NHWC wall / cpu ms | torch best / ours: wall, cpu | oneDNN impl |")
    print("|---|---|---|---|---|---|---|")
    for s in SHAPES:
        hw, cin, cout, k, g, thr = s
        # One shape at a time, ours then PyTorch, so that a change in the machine's load between
        # the contenders' runs stays small.
        ow, oc, label = time_ours(args.bench, s, args.reps, args.min_time)[s]
        nw, nc = time_torch(s, False, args.reps, args.min_time)
        cw, cc = time_torch(s, True, args.reps, args.min_time)
        print(f"| {hw}², {cin}→{cout}, {k}×{k}, g{g} | {thr} | {ow:.2f} / {oc:.2f} | {nw:.2f} / {nc:.2f} | "
              f"{cw:.2f} / {cc:.2f} | {min(nw, cw) / ow:.2f}, {min(nc, cc) / oc if thr == 1 else float('nan'):.2f} | "
              f"{label} |", flush=True)


if __name__ == "__main__":
    main()
