#!/usr/bin/env python3
"""Train the bundled Restore-RWKV models on real photos (tools/restore_data.py), on the CPU.

    # blind colour Gaussian denoising, sigma ~ U[0, 50] (zoo id restore_rwkv_denoise)
    nice -n 10 python3 tools/train_restore.py --task denoise --minutes 55 \
        --out data/models/restore_rwkv_denoise.safetensors
    # x2 super-resolution from antialiased bicubic down-sampling (zoo id restore_rwkv_sr2)
    nice -n 10 python3 tools/train_restore.py --task sr2 --minutes 55 \
        --out data/models/restore_rwkv_sr2.safetensors

Data: the training photos of restore_data.py (wallpaper packages), each down-scaled 2x by area
first; whole photos listed in restore_data.VAL_NAMES are the validation split, used only to pick
the checkpoint. The test images are never read here.

Degradations (the same as tools/eval_restore_baselines.py makes for testing):
  denoise: noisy = round(clip(255 clean + N(0, sigma^2), 0, 255)) / 255, sigma ~ U[0, 50] per
           crop -- quantised and clipped like the 8-bit PNG a user would give the CLI.
  sr2:     LR = PIL Image.resize((w/2, h/2), BICUBIC) of the 8-bit HR crop (antialiased, like
           MATLAB imresize); the network (tools/rwkv_ref/restore_rwkv.py, scale 2) upsamples LR
           bicubically inside and learns the residual.
Loss L1 (as Restore-RWKV), Adam, cosine learning rate over a wall-clock budget (--minutes), random
crops with flips/rot90. Validation every --val-every seconds on fixed crops of the validation
photos (fixed noise seeds; sigma 15/25/50 for denoise); the best RGB PSNR is saved.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import restore_data  # noqa: E402
from rwkv_ref.restore_rwkv import build_restore_rwkv, count_parameters, save_restore_rwkv  # noqa: E402


def log(f, msg):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    if f:
        f.write(line + "\n")
        f.flush()


def add_noise(clean_u8, sigma, rng):
    """clean uint8 HxWx3 -> noisy uint8 (Gaussian, clipped, rounded)."""
    n = rng.standard_normal(clean_u8.shape) * sigma
    return np.clip(np.round(clean_u8.astype(np.float64) + n), 0, 255).astype(np.uint8)


def bicubic_down(hr_u8, scale):
    h, w = hr_u8.shape[:2]
    return np.asarray(Image.fromarray(hr_u8).resize((w // scale, h // scale), Image.BICUBIC))


def to_t(u8):  # HxWx3 uint8 -> 1x3xHxW float
    return torch.from_numpy(u8.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)


def init_model(model, seed):
    """Vision-RWKV 'fancy' decay/first init per level, Omni-Shift close to identity + 3x3, and a
    small output conv so the network starts near its global residual (identity / bicubic)."""
    g = torch.Generator().manual_seed(seed)
    from rwkv_ref.restore_rwkv import OmniShift, VRWKV_SpatialMix
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, VRWKV_SpatialMix):
                C = m.n_embd
                ratio = m.layer_id / max(m.n_layer - 1, 1)
                h = torch.arange(C, dtype=torch.float32) / max(C - 1, 1)
                decay = -5 + 8 * h ** (0.7 + 1.3 * ratio)
                zig = (torch.tensor([(i + 1) % 3 - 1 for i in range(C)], dtype=torch.float32)) * 0.5
                first = torch.ones(C) * math.log(0.3) + zig
                m.spatial_decay.copy_(torch.stack([decay, decay]))
                m.spatial_first.copy_(torch.stack([first, first]))
            if isinstance(m, OmniShift):
                m.alpha.copy_(torch.tensor([1.0, 0.1, 0.1, 0.1]) + 0.01 * torch.randn(4, generator=g))
        model.output.weight.mul_(0.01)
        model.output.bias.zero_()


class Sampler:
    def __init__(self, photos, crop, task, rng):
        self.photos, self.crop, self.task, self.rng = photos, crop, task, rng
        areas = np.array([p.shape[0] * p.shape[1] for p in photos], dtype=np.float64)
        self.p = areas / areas.sum()

    def clean_crop(self):
        img = self.photos[self.rng.choice(len(self.photos), p=self.p)]
        h, w = img.shape[:2]
        c = self.crop
        y, x = self.rng.integers(0, h - c + 1), self.rng.integers(0, w - c + 1)
        a = img[y:y + c, x:x + c]
        if self.rng.random() < 0.5:
            a = a[:, ::-1]
        a = np.rot90(a, self.rng.integers(0, 4))
        return np.ascontiguousarray(a)

    def batch(self, n):
        xs, ys = [], []
        for _ in range(n):
            clean = self.clean_crop()
            if self.task == "denoise":
                inp = add_noise(clean, self.rng.uniform(0, 50), self.rng)
            else:
                inp = bicubic_down(clean, 2)
            xs.append(to_t(inp))
            ys.append(to_t(clean))
        return torch.cat(xs), torch.cat(ys)


def make_val(photos, task, crop, per_photo, seed):
    rng = np.random.default_rng(seed)
    items = []
    for img in photos:
        h, w = img.shape[:2]
        for i in range(per_photo):
            y, x = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
            clean = np.ascontiguousarray(img[y:y + crop, x:x + crop])
            if task == "denoise":
                for s in (15, 25, 50):
                    items.append((to_t(add_noise(clean, s, rng)), to_t(clean), s))
            else:
                items.append((to_t(bicubic_down(clean, 2)), to_t(clean), 2))
    return items


def evaluate(model, items):
    model.eval()
    by = {}
    with torch.no_grad():
        for inp, clean, key in items:
            out = model(inp).clamp(0, 1)
            out = torch.round(out * 255) / 255
            mse = torch.mean((out - clean) ** 2).item()
            by.setdefault(key, []).append(10 * math.log10(1.0 / max(mse, 1e-12)))
    model.train()
    return {k: float(np.mean(v)) for k, v in by.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=["denoise", "sr2"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=55)
    ap.add_argument("--dim", type=int, default=16)
    ap.add_argument("--blocks", default="1,2,2,2")
    ap.add_argument("--refine", type=int, default=1)
    ap.add_argument("--hidden-rate", type=float, default=2)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-min", type=float, default=1e-6)
    ap.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-every", type=float, default=300, help="seconds between validations")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = time only)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    logf = open(os.path.splitext(args.out)[0] + ".train.log", "w")
    log(logf, "args " + json.dumps(vars(args)))

    files = restore_data.train_files()
    train = [restore_data.load_train_photo(p) for _, p in files if restore_data.split_of(p) == "train"]
    val = [restore_data.load_train_photo(p) for _, p in files if restore_data.split_of(p) == "val"]
    log(logf, f"photos: {len(train)} train, {len(val)} val (down-scaled 2x by area); "
              f"{sum(p.shape[0] * p.shape[1] for p in train) / 1e6:.1f} Mpx train")

    scale = 2 if args.task == "sr2" else 1
    cfg = {"inp_channels": 3, "out_channels": 3, "dim": args.dim,
           "num_blocks": [int(b) for b in args.blocks.split(",")], "num_refinement_blocks": args.refine,
           "hidden_rate": args.hidden_rate, "scale": scale}
    model = build_restore_rwkv(cfg, wkv_impl="train")
    init_model(model, args.seed)
    model.train()
    log(logf, f"config {json.dumps(cfg)}; {count_parameters(model)} parameters")

    val_items = make_val(val, args.task, 128, 2, seed=1234)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999))
    sampler = Sampler(train, args.crop, args.task, rng)

    model_id = "restore_rwkv_denoise" if args.task == "denoise" else "restore_rwkv_sr2"
    task = "denoise" if args.task == "denoise" else "sr"
    budget = args.minutes * 60.0
    t0 = time.time()
    last_val = t0
    best, best_step = -1.0, 0
    step, loss_acc, n_acc = 0, 0.0, 0

    def validate_and_save(final=False):
        nonlocal best, best_step
        res = evaluate(model, val_items)
        score = float(np.mean(list(res.values())))
        tag = ""
        if score > best:
            best, best_step = score, step
            save_restore_rwkv(args.out, model, cfg, model_id, task,
                              extra={"train_steps": str(step), "val_psnr_rgb": f"{score:.3f}",
                                     "trained_by": "tools/train_restore.py"})
            tag = " (saved)"
        log(logf, f"val step {step} t={time.time() - t0:.0f}s " +
            " ".join(f"{k}:{v:.3f}" for k, v in sorted(res.items())) + f" mean {score:.3f}{tag}")

    validate_and_save()
    while True:
        elapsed = time.time() - t0
        if elapsed >= budget or (args.max_steps and step >= args.max_steps):
            break
        prog = min(elapsed / budget, 1.0)
        lr = args.lr_min + 0.5 * (args.lr - args.lr_min) * (1 + math.cos(math.pi * prog))
        if step < args.warmup:
            lr *= (step + 1) / args.warmup
        for gp in opt.param_groups:
            gp["lr"] = lr
        x, y = sampler.batch(args.batch)
        out = model(x)
        loss = F.l1_loss(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_acc += loss.item()
        n_acc += 1
        if step % 50 == 0:
            log(logf, f"step {step} t={time.time() - t0:.0f}s lr {lr:.2e} l1 {loss_acc / n_acc:.5f}")
            loss_acc, n_acc = 0.0, 0
        if time.time() - last_val >= args.val_every:
            validate_and_save()
            last_val = time.time()
    validate_and_save(final=True)
    log(logf, f"done: {step} steps in {time.time() - t0:.0f}s; best val {best:.3f} dB at step {best_step}")


if __name__ == "__main__":
    main()
