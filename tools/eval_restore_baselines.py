#!/usr/bin/env python3
"""Held-out evaluation of the bundled restoration models against classical baselines.

    python3 tools/eval_restore_baselines.py --work /tmp/restore_eval \
        --bin build/apps/rwkv-vision [--tune-nlm] [--torch-only]

Steps (all inputs written as 8-bit PNG, fixed seeds, so every method sees the same pixels):
  1. Test images (restore_data.TEST_FILES; never used in training or selection), centre-cropped
     to at most 512x512 and to a multiple of 8 -> WORK/clean/NAME.png.
  2. Denoising at sigma 15, 25, 50: noisy = round(clip(clean + N(0, sigma^2))) with seed
     1000 * sigma + image index -> WORK/noisy{s}/; OpenCV fastNlMeansDenoisingColored(h = hColor
     tuned per sigma on crops of the TRAINING photos, template 7, search 21) -> WORK/nlm{s}/;
     ours: `rwkv-vision restore -m restore_rwkv_denoise` -> WORK/ours{s}/.
  3. x2 SR: LR = PIL BICUBIC down-sampling (antialiased) of the clean image -> WORK/lr2/;
     bicubic baseline = PIL BICUBIC up-sampling -> WORK/bicubic2/; ours: `rwkv-vision restore
     -m restore_rwkv_sr2 --task sr -s 2` -> WORK/ours_sr2/.
  4. Scores with `rwkv-vision eval restore` (BasicSR rules): denoising on RGB (crop 0) and on Y;
     SR on Y with crop_border 2 (and RGB crop 2). Summary -> WORK/summary.json and a Markdown
     table on stdout.
--torch-only (or when the binary has no `restore` command) runs "ours" through the PyTorch
reference (tools/rwkv_ref/restore_rwkv.py forward_padded, Bi-WKV 'scan', output rounded to 8 bit)
and says so in the summary; the scores still come from `eval restore` when the binary exists.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import restore_data  # noqa: E402
from train_restore import add_noise, bicubic_down  # noqa: E402

SIGMAS = (15, 25, 50)
# NL-means h (= hColor) per sigma, tuned on training-photo crops by --tune-nlm (see the model card).
NLM_H = {15: 12.8, 25: 20.0, 50: 35.0}
# h/sigma ratios tried per sigma (a coarse grid: CPU time on this machine is scarce).
NLM_RATIOS = (0.8, 0.95, 1.1, 1.25, 1.4, 1.6)


def save(path, rgb):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(rgb).save(path)


def load(path):
    return np.asarray(Image.open(path).convert("RGB"))


def nlm(noisy_rgb, h):
    import cv2
    cv2.setNumThreads(1)
    bgr = cv2.cvtColor(noisy_rgb, cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, h, h, 7, 21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def psnr_rgb(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


def tune_nlm(n_crops=8, crop=160, seed=7):
    """h per sigma maximising mean RGB PSNR on crops of the training photos (train split)."""
    rng = np.random.default_rng(seed)
    photos = [restore_data.load_train_photo(p) for _, p in restore_data.train_files()
              if restore_data.split_of(p) == "train"]
    crops = []
    for i in range(n_crops):
        img = photos[rng.integers(len(photos))]
        y, x = rng.integers(0, img.shape[0] - crop), rng.integers(0, img.shape[1] - crop)
        crops.append(np.ascontiguousarray(img[y:y + crop, x:x + crop]))
    best = {}
    for s in SIGMAS:
        noisy = [add_noise(c, s, np.random.default_rng(10 * s + i)) for i, c in enumerate(crops)]
        grid = [round(r * s, 1) for r in NLM_RATIOS]
        scores = {h: float(np.mean([psnr_rgb(nlm(n, h), c) for n, c in zip(noisy, crops)])) for h in grid}
        best[s] = max(scores, key=scores.get)
        print(f"NL-means tuning sigma {s}: " + " ".join(f"h{h}:{v:.2f}" for h, v in scores.items()) +
              f" -> h = {best[s]}", flush=True)
    return best


def torch_restore(model_path, in_dir, out_dir):
    import torch
    from rwkv_ref.restore_rwkv import load_restore_rwkv
    torch.set_num_threads(1)
    model, cfg, meta = load_restore_rwkv(model_path, wkv_impl="scan")
    os.makedirs(out_dir, exist_ok=True)
    for f in sorted(os.listdir(in_dir)):
        x = torch.from_numpy(load(os.path.join(in_dir, f)).astype(np.float32) / 255).permute(2, 0, 1)[None]
        with torch.no_grad():
            y = model.forward_padded(x)
        y = (y[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
        save(os.path.join(out_dir, f), y)


def has_restore(binary):
    if not binary or not os.path.exists(binary):
        return False
    r = subprocess.run([binary, "restore", "--help"], capture_output=True, text=True)
    return r.returncode == 0


def run(cmd):
    print("$ " + " ".join(cmd), flush=True)
    t = time.time()
    subprocess.run(cmd, check=True)
    return time.time() - t


def eval_restore(binary, pred, ref, out, crop=0, y=False):
    cmd = [binary, "eval", "restore", "-q", "--pred", pred, "--ref", ref, "--crop-border", str(crop), "-o", out]
    if y:
        cmd.append("--test-y-channel")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out + ".json") as f:
        rep = json.load(f)
    return {"psnr": rep["mean"]["psnr"], "ssim": rep["mean"]["ssim"],
            "per_image": {i["name"]: [i["psnr"], i["ssim"]] for i in rep["images"]}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "apps", "rwkv-vision"))
    ap.add_argument("--denoise-model", default=os.path.join(REPO, "data/models/restore_rwkv_denoise.safetensors"))
    ap.add_argument("--sr-model", default=os.path.join(REPO, "data/models/restore_rwkv_sr2.safetensors"))
    ap.add_argument("--tune-nlm", action="store_true", help="tune h on training crops (else NLM_H)")
    ap.add_argument("--torch-only", action="store_true", help="run 'ours' through the PyTorch reference")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip", default="", help="comma list of stages to skip: data,nlm,ours")
    args = ap.parse_args()
    W = args.work
    skip = set(filter(None, args.skip.split(",")))
    use_cli = not args.torch_only and has_restore(args.bin)
    summary = {"engine": "rwkv-vision restore (C++)" if use_cli else "PyTorch reference (tools/rwkv_ref)",
               "test_crop": restore_data.TEST_CROP, "sigmas": list(SIGMAS)}

    nlm_h = tune_nlm() if args.tune_nlm else dict(NLM_H)
    summary["nlm_h"] = {str(k): v for k, v in nlm_h.items()}

    if "data" not in skip:
        for i, (_, p) in enumerate(restore_data.TEST_FILES):
            name = restore_data.test_name(p)
            clean = restore_data.load_test_image(p)
            save(f"{W}/clean/{name}.png", clean)
            for s in SIGMAS:
                save(f"{W}/noisy{s}/{name}.png", add_noise(clean, s, np.random.default_rng(1000 * s + i)))
            lr = bicubic_down(clean, 2)
            save(f"{W}/lr2/{name}.png", lr)
            h, w = clean.shape[:2]
            save(f"{W}/bicubic2/{name}.png", np.asarray(Image.fromarray(lr).resize((w, h), Image.BICUBIC)))
    if "nlm" not in skip:
        t = time.time()
        for s in SIGMAS:
            for f in sorted(os.listdir(f"{W}/noisy{s}")):
                save(f"{W}/nlm{s}/{f}", nlm(load(f"{W}/noisy{s}/{f}"), nlm_h[s]))
        summary["nlm_seconds"] = time.time() - t
    if "ours" not in skip:
        times = {}
        for s in SIGMAS:
            if use_cli:
                times[f"denoise{s}"] = run([args.bin, "restore", "-q", "--threads", str(args.threads), "-m",
                                            args.denoise_model, "-i", f"{W}/noisy{s}", "-o", f"{W}/ours{s}"])
            else:
                t = time.time()
                torch_restore(args.denoise_model, f"{W}/noisy{s}", f"{W}/ours{s}")
                times[f"denoise{s}"] = time.time() - t
        if use_cli:
            times["sr2"] = run([args.bin, "restore", "-q", "--threads", str(args.threads), "-m", args.sr_model,
                                "--task", "sr", "-s", "2", "-i", f"{W}/lr2", "-o", f"{W}/ours_sr2"])
        else:
            t = time.time()
            torch_restore(args.sr_model, f"{W}/lr2", f"{W}/ours_sr2")
            times["sr2"] = time.time() - t
        summary["ours_seconds"] = times

    res = {}
    ev = lambda *a, **k: eval_restore(args.bin, *a, **k)  # noqa: E731
    os.makedirs(f"{W}/scores", exist_ok=True)
    for s in SIGMAS:
        for meth in ("noisy", "nlm", "ours"):
            for y in (False, True):
                key = f"denoise{s}/{meth}/{'y' if y else 'rgb'}"
                res[key] = ev(f"{W}/{meth}{s}", f"{W}/clean", f"{W}/scores/{key.replace('/', '_')}", 0, y)
    for meth, d in (("bicubic", "bicubic2"), ("ours", "ours_sr2")):
        for y in (False, True):
            key = f"sr2/{meth}/{'y' if y else 'rgb'}"
            res[key] = ev(f"{W}/{d}", f"{W}/clean", f"{W}/scores/{key.replace('/', '_')}", 2, y)
    summary["results"] = res
    with open(f"{W}/summary.json", "w") as f:
        json.dump(summary, f, indent=1)

    print(f"\nengine for 'ours': {summary['engine']}; {len(restore_data.TEST_FILES)} test images; "
          f"NL-means h = {nlm_h}\n")
    print("| task | metric rules | input | baseline | ours | ours - baseline |")
    print("|---|---|---|---|---|---|")
    for s in SIGMAS:
        for y in ("rgb", "y"):
            r = lambda m: res[f"denoise{s}/{m}/{y}"]  # noqa: E731
            rules = "RGB, crop 0" if y == "rgb" else "Y, crop 0"
            print(f"| denoise σ={s} | {rules} | {r('noisy')['psnr']:.2f} / {r('noisy')['ssim']:.4f} | "
                  f"NL-means {r('nlm')['psnr']:.2f} / {r('nlm')['ssim']:.4f} | "
                  f"{r('ours')['psnr']:.2f} / {r('ours')['ssim']:.4f} | "
                  f"{r('ours')['psnr'] - r('nlm')['psnr']:+.2f} dB |")
    for y in ("y", "rgb"):
        b, o = res[f"sr2/bicubic/{y}"], res[f"sr2/ours/{y}"]
        rules = "Y, crop 2" if y == "y" else "RGB, crop 2"
        print(f"| SR ×2 | {rules} | – | bicubic {b['psnr']:.2f} / {b['ssim']:.4f} | "
              f"{o['psnr']:.2f} / {o['ssim']:.4f} | {o['psnr'] - b['psnr']:+.2f} dB |")


if __name__ == "__main__":
    main()


def make_figure(work, name, sigma, box, out_path, sr_box=None):
    """Side by side (noisy input, NL-means, ours, clean) of one test image crop -> JPEG."""
    y, x, s = box
    tiles = [load(f"{work}/{d}/{name}.png")[y:y + s, x:x + s] for d in
             (f"noisy{sigma}", f"nlm{sigma}", f"ours{sigma}", "clean")]
    gap = 4
    canvas = np.full((s, 4 * s + 3 * gap, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        canvas[:, i * (s + gap):i * (s + gap) + s] = t
    Image.fromarray(canvas).save(out_path, quality=90)


def make_sample(work, name, sigma, box, out_path):
    """A noisy crop for data/samples/restore/ (so `rwkv-vision restore` has an input on a fresh machine)."""
    y, x, s = box
    Image.fromarray(load(f"{work}/noisy{sigma}/{name}.png")[y:y + s, x:x + s]).save(out_path, optimize=True)
