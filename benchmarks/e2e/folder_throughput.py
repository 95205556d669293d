#!/usr/bin/python3
"""Folder throughput: `rwkv-vision classify` on a folder of images of mixed sizes, 1 vs N threads.

What a user classifying a folder sees, end to end (decode, Pillow-exact resize and crop, forward,
output): images/s with --threads 1, and with --threads N in throughput mode (one image per thread,
each single-threaded) and in latency mode (all threads on one image at a time), plus the ratio.

The model is VRWKV-T with random weights, saved as an mmcls-style .pth by the PyTorch reference
(tools/rwkv_ref), so the run needs no download; the images are seeded noise PNGs of mixed sizes.

    /usr/bin/python3 benchmarks/e2e/folder_throughput.py [--images 256] [--threads 2] [--out FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def make_model(path: str) -> None:
    import torch
    from rwkv_ref.vrwkv import build_classifier, preset_config

    torch.manual_seed(0)
    model = build_classifier(preset_config("vrwkv_t"))
    torch.save(model.state_dict(), path)


def make_images(folder: str, n: int, seed: int = 0) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = (int(x) for x in rng.integers(96, 641, size=2))
        pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(folder, f"img_{i:04d}_{h}x{w}.png"))


def run(binary: str, model: str, folder: str, threads: int, mode: str) -> dict:
    cmd = [binary, "classify", "-m", model, "-i", folder, "--format", "csv", "--topk", "1", "-q",
           "--threads", str(threads), "--mode", mode, "-o", os.devnull]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return {"threads": threads, "mode": mode, "wall_s": wall, "command": " ".join(cmd)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "apps", "rwkv-vision"))
    p.add_argument("--repeat", type=int, default=2, help="runs per configuration (the fastest counts)")
    p.add_argument("--out", help="write the results as JSON here")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="rv_folder_") as tmp:
        model = os.path.join(tmp, "vrwkv_t_random.pth")
        folder = os.path.join(tmp, "images")
        os.makedirs(folder)
        make_model(model)
        make_images(folder, a.images)
        configs = [(1, "latency"), (a.threads, "throughput"), (a.threads, "latency")]
        results = []
        for threads, mode in configs:
            best = min((run(a.binary, model, folder, threads, mode) for _ in range(a.repeat)),
                       key=lambda r: r["wall_s"])
            best["images_per_s"] = a.images / best["wall_s"]
            results.append(best)
            print(f"threads {threads} {mode:10s}: {best['images_per_s']:.2f} images/s "
                  f"({best['wall_s']:.1f} s for {a.images} images)", flush=True)
    base = results[0]["images_per_s"]
    for r in results[1:]:
        r["speedup_vs_1_thread"] = r["images_per_s"] / base
        print(f"threads {r['threads']} {r['mode']}: {r['speedup_vs_1_thread']:.2f}x one thread")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"images": a.images, "sizes": "random HxW in [96, 640]", "model": "vrwkv_t (random weights)",
                       "load_average": os.getloadavg(), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
