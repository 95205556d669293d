#!/usr/bin/python3
"""RWKV-UNet T/S/B on the CPU: rwkv-vision (C++, benchmarks/e2e/unet_bench.cpp) against the PyTorch
reference (tools/rwkv_ref/rwkv_unet.py, Bi-WKV 'scan_fast', channels-last, inference_mode), in one
run, same machine. Random weights (PyTorch default init, BN statistics randomised) are written once
per preset to a temporary safetensors file with the config in its metadata; both contenders load
that file. Each contender runs in its own subprocess (peak RSS from os.wait4, model load included);
one warm-up forward, then --reps timed forwards of one 224x224 slice.

  /usr/bin/python3 benchmarks/e2e/unet_compare.py --bin /work/build-unet/benchmarks/rv_unet_bench \
      --presets rwkv_unet_t rwkv_unet_s rwkv_unet_b --threads 1 2 --reps 3 --out unet.json
Prints a markdown table for benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
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
from rwkv_ref.rwkv_unet import build_unet
from rwkv_ref.safetensors_io import load_safetensors
torch.set_num_threads(%(threads)d)
t, meta = load_safetensors(%(model)r)
m = build_unet(json.loads(meta["config"]), wkv_impl="scan_fast").eval()
m.load_state_dict(t, strict=False)
m = m.to(memory_format=torch.channels_last)
x = torch.rand(1, m.cfg["in_channels"], %(size)d, %(size)d).contiguous(memory_format=torch.channels_last)
with torch.inference_mode():
    m(x)
    t0 = time.perf_counter()
    for _ in range(%(reps)d): m(x)
    dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "slices": %(reps)d}))
"""


def run(cmd, env):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    out = p.stdout.read().decode()
    err = p.stderr.read().decode()
    if status != 0:
        return None, ru.ru_maxrss / 1024.0, err.strip()[-300:]
    return json.loads(out.strip().splitlines()[-1]), ru.ru_maxrss / 1024.0, ""


def write_model(preset, path):
    sys.path.insert(0, TOOLS)
    import torch
    from rwkv_ref.rwkv_unet import build_unet, config_json_text, preset_config, unused_keys
    from rwkv_ref.safetensors_io import save_safetensors
    torch.manual_seed(0)
    m = build_unet(preset_config(preset, num_classes=9))
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    un = set(unused_keys(m))
    save_safetensors(path, {k: v.float() for k, v in m.state_dict().items() if k not in un},
                     {"config": config_json_text(m.cfg), "labels": json.dumps([f"c{i}" for i in range(9)])})
    return sum(v.numel() for k, v in m.state_dict().items() if k not in un)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--presets", nargs="+", default=["rwkv_unet_t", "rwkv_unet_s", "rwkv_unet_b"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for preset in args.presets:
            path = os.path.join(d, preset + ".safetensors")
            params = write_model(preset, path)
            for th in args.threads:
                res = {"preset": preset, "params": params, "threads": th, "size": args.size}
                cxx, rss_c, err_c = run([args.bin, path, str(args.size), str(args.size), str(th), str(args.reps)],
                                        dict(env, OMP_NUM_THREADS=str(th)))
                code = WORKER % {"tools": TOOLS, "threads": th, "model": path, "size": args.size, "reps": args.reps}
                py, rss_p, err_p = run([PY, "-c", code], env)
                res.update(cxx_slices_s=cxx and cxx["slices"] / cxx["seconds"], cxx_rss_mb=rss_c, cxx_err=err_c,
                           torch_slices_s=py and py["slices"] / py["seconds"], torch_rss_mb=rss_p, torch_err=err_p)
                rows.append(res)
                print(json.dumps(res), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, f, indent=1)
    print("\n| model | params | threads | rwkv-vision slices/s | PyTorch slices/s | speed-up | peak RSS ours / PyTorch (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        c, p = r["cxx_slices_s"], r["torch_slices_s"]
        ratio = f"{c / p:.2f}×" if c and p else "—"
        print(f"| {r['preset']} | {r['params'] / 1e6:.2f}M | {r['threads']} | {c and f'{c:.2f}'} | {p and f'{p:.2f}'} | "
              f"{ratio} | {r['cxx_rss_mb']:.0f} / {r['torch_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
