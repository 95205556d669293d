#!/usr/bin/python3
"""Restore-RWKV on the CPU: rwkv-vision against the PyTorch reference, in one run, same machine.

For each model, image size (square, colour) and thread count, each contender runs in its own
subprocess, whose peak RSS the driver reads with os.wait4:

  rwkv_vision   ``rwkv-vision restore -i IMG -o OUT.png -m MODEL -t 0 --threads N -q`` (whole image):
                the whole process, model load and PNG decode/encode included (small next to the
                network at these sizes; the 64x64 run of the same model is reported as the overhead)
  torch_ref     tools/rwkv_ref/restore_rwkv.py loaded from the same file (official module names),
                Bi-WKV 'scan_fast' (vectorised O(T), float32), torch.inference_mode, one warm-up
                forward then the timed forward(s); torch.set_num_threads(N)

Models: ``--model PATH`` (repeatable; e.g. the bundled data/models/restore_rwkv_denoise.safetensors)
and ``--official`` (the official network's size, 48/96/192/384, [4,6,6,8] + 4, 3 channels, random
weights written to a temporary file). Mpx/s = output megapixels / seconds; linearity = (s/Mpx at
the largest size) / (s/Mpx at the smallest). Runs predicted (linearly from the previous size) to
take more than --budget-s are skipped and recorded as such.

  /usr/bin/python3 benchmarks/e2e/restore_compare.py --bin build/apps/rwkv-vision \
      --model data/models/restore_rwkv_denoise.safetensors --official --sizes 256 512 1024 2048
Writes JSON (--out) and prints a markdown table for benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(REPO, "tools")
PY = "/usr/bin/python3"
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"

WORKER = r"""
import sys, time, json, torch
sys.path.insert(0, %(tools)r)
from rwkv_ref.restore_rwkv import load_restore_rwkv
torch.set_num_threads(%(threads)d)
model, cfg, meta = load_restore_rwkv(%(model)r, wkv_impl="scan_fast")
s = %(size)d // cfg["scale"]
x = torch.rand(1, cfg["inp_channels"], s, s)
with torch.inference_mode():
    model.forward_padded(x)
    t0 = time.perf_counter(); model.forward_padded(x); dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt}))
"""


def measure(cmd, env):
    """(seconds reported or wall, peak RSS MiB, ok, message) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out = p.stdout.read().decode()
    err = p.stderr.read().decode()
    ok = os.waitstatus_to_exitcode(status) == 0
    secs = wall
    for line in out.splitlines():
        if line.startswith("{"):
            secs = json.loads(line)["seconds"]
    return secs, ru.ru_maxrss / 1024.0, ok, (err.strip().splitlines() or [""])[-1]


def write_png(path, size, channels=3):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    a = (rng.random((size, size, channels)) * 255).astype("uint8")
    Image.fromarray(a if channels == 3 else a[..., 0]).save(path)


def official_file(tmp):
    sys.path.insert(0, TOOLS)
    import torch
    from rwkv_ref.restore_rwkv import build_restore_rwkv, save_restore_rwkv
    torch.manual_seed(0)
    cfg = {"inp_channels": 3, "out_channels": 3}
    m = build_restore_rwkv(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("spatial_decay"):
                p.uniform_(-4, 4)
    path = os.path.join(tmp, "restore_rwkv_official_rgb.safetensors")
    save_restore_rwkv(path, m.eval(), cfg, "restore_rwkv_official_rgb", "denoise")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "apps", "rwkv-vision"))
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--official", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--budget-s", type=float, default=300.0)
    ap.add_argument("--contenders", nargs="+", default=["rwkv_vision", "torch_ref"])
    ap.add_argument("--out", default=os.path.join(HERE, "restore_compare.json"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="restore_bench_")
    models = [(os.path.splitext(os.path.basename(m))[0], m) for m in args.model]
    if args.official:
        models.append(("official_size_random", official_file(tmp)))
    results = []
    for mname, mpath in models:
        sys.path.insert(0, TOOLS)
        from rwkv_ref.safetensors_io import load_safetensors
        scale = json.loads(load_safetensors(mpath)[1]["config"]).get("scale", 1)
        for threads in args.threads:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                       MKL_NUM_THREADS=str(threads), LD_LIBRARY_PATH=OPENBLAS_DIR)
            for who in args.contenders:
                prev = None
                sizes = ([64] if who == "rwkv_vision" else []) + args.sizes
                for size in sizes:
                    rec = {"model": mname, "contender": who, "threads": threads, "size": size}
                    if prev and prev[1] * (size / prev[0]) ** 2 > args.budget_s:
                        rec["skipped"] = f"predicted > {args.budget_s:.0f} s"
                        results.append(rec)
                        print(json.dumps(rec), flush=True)
                        continue
                    if who == "rwkv_vision":
                        img = os.path.join(tmp, f"in_{size // scale}.png")
                        if not os.path.exists(img):
                            write_png(img, size // scale)
                        cmd = [args.bin, "restore", "-q", "-i", img, "-o", os.path.join(tmp, "out.png"), "-m",
                               mpath, "-t", "0", "--threads", str(threads), "--max-memory", "20G", "--overwrite"]
                    else:
                        cmd = [PY, "-c", WORKER % {"tools": TOOLS, "threads": threads, "model": mpath, "size": size}]
                    secs, rss, ok, msg = measure(cmd, env)
                    rec.update(seconds=round(secs, 3), peak_rss_mib=round(rss, 1), ok=ok,
                               mpx_per_s=round(size * size / 1e6 / secs, 4))
                    if not ok:
                        rec["error"] = msg
                    results.append(rec)
                    print(json.dumps(rec), flush=True)
                    if ok and size >= 256:
                        prev = (size, secs)
    machine = {"cpu": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
               "load_avg": os.getloadavg()}
    with open(args.out, "w") as f:
        json.dump({"machine": machine, "results": results}, f, indent=1)
    print("\n| model | threads | size | rwkv-vision Mpx/s | peak RSS MiB | PyTorch Mpx/s | peak RSS MiB | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    key = {(r["model"], r["contender"], r["threads"], r["size"]): r for r in results}
    for mname, _ in models:
        for threads in args.threads:
            for size in args.sizes:
                a = key.get((mname, "rwkv_vision", threads, size), {})
                b = key.get((mname, "torch_ref", threads, size), {})
                def cell(r):
                    if "skipped" in r:
                        return "skipped", ""
                    if not r or not r.get("ok"):
                        return ("failed" if r else "-"), ""
                    return f"{r['mpx_per_s']:.4f}", f"{r['peak_rss_mib']:.0f}"
                sa, ra = cell(a)
                sb, rb = cell(b)
                sp = f"{b['seconds'] / a['seconds']:.2f}x" if a.get("ok") and b.get("ok") else ""
                print(f"| {mname} | {threads} | {size}² | {sa} | {ra} | {sb} | {rb} | {sp} |")
    for mname, _ in models:
        for threads in args.threads:
            for who in args.contenders:
                rs = [r for r in results if r["model"] == mname and r["contender"] == who and r["threads"] == threads
                      and r.get("ok") and r["size"] >= 256]
                if len(rs) >= 2:
                    lo, hi = rs[0], rs[-1]
                    ratio = (hi["seconds"] / hi["size"] ** 2) / (lo["seconds"] / lo["size"] ** 2)
                    print(f"linearity {mname} {who} {threads}t: s/px at {hi['size']}² / at {lo['size']}² = {ratio:.2f}")


if __name__ == "__main__":
    main()
