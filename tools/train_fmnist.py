#!/usr/bin/python3
"""Train the bundled classifier vrwkv_fmnist: a small VRWKV on Fashion-MNIST (1 CPU thread).

Split: the first 55,000 training images train, the LAST 5,000 validate (model selection); the
10,000 test images are evaluated once at the end with the selected checkpoint, never for selection.
The model is the reference VRWKV of tools/rwkv_ref (patch conv, pos embed, blocks, final norm, GAP,
linear head) with the O(T^2) matrix Bi-WKV, which is the same function as the O(T) recursion.

Usage (see data/models/vrwkv_fmnist.md for the command that made the bundled file):
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 tools/train_fmnist.py \
      --epochs 8 --out data/models/vrwkv_fmnist.safetensors --log /tmp/fmnist.log
  ... --bench 20     # time 20 training steps and exit
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv_ref import fmnist  # noqa: E402
from rwkv_ref.safetensors_io import load_safetensors, save_safetensors  # noqa: E402
from rwkv_ref.vrwkv import build_classifier, config_from_json, config_json_text  # noqa: E402


def log(fh, *a):
    msg = " ".join(str(x) for x in a)
    print(msg, flush=True)
    if fh:
        fh.write(msg + "\n")
        fh.flush()


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random crop from a zero-padded (raw 0 = black) image + horizontal flip; x is uint8-valued float [B,1,28,28]."""
    B, _, H, W = x.shape
    xp = F.pad(x, [pad, pad, pad, pad])
    oy = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (B,), generator=gen)
    rows = (oy.view(B, 1) + torch.arange(H).view(1, H))            # [B,H]
    cols = (ox.view(B, 1) + torch.arange(W).view(1, W))            # [B,W]
    flip = torch.rand(B, generator=gen) < 0.5
    cols = torch.where(flip.view(B, 1), cols.flip(1), cols)
    bidx = torch.arange(B).view(B, 1, 1)
    out = xp[:, 0][bidx, rows.view(B, H, 1), cols.view(B, 1, W)]
    return out.unsqueeze(1)


@torch.no_grad()
def evaluate(model, images: np.ndarray, labels: np.ndarray, mean: float, std: float, bs: int = 500):
    model.eval()
    n = len(labels)
    correct1 = correct5 = 0
    loss = 0.0
    for i in range(0, n, bs):
        x = (torch.from_numpy(images[i:i + bs].copy()).float().unsqueeze(1) - mean) / std
        y = torch.from_numpy(labels[i:i + bs].copy())
        logits = model(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        top5 = logits.topk(5, dim=1).indices
        correct1 += (top5[:, 0] == y).sum().item()
        correct5 += (top5 == y.view(-1, 1)).any(1).sum().item()
    return {"loss": loss / n, "top1": correct1 / n, "top5": correct5 / n}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embed-dims", type=int, default=96)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--post-norm", action="store_true")
    ap.add_argument("--epochs", type=int, default=8, help="upper bound on epochs")
    ap.add_argument("--total-steps", type=int, default=0,
                    help="length of the LR schedule in steps (0: derive it from --minutes after 40 steps)")
    ap.add_argument("--minutes", type=float, default=40.0,
                    help="wall-time budget used to derive --total-steps; also a hard stop")
    ap.add_argument("--time-schedule", action="store_true",
                    help="LR schedule over wall time instead of steps: progress = training time / "
                         "(budget - reserve for evaluations); ends the run when progress reaches 1. "
                         "Robust to a shared, busy CPU; not bit-reproducible")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--warmup-steps", type=int, default=300)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--drop-path", type=float, default=0.0)
    ap.add_argument("--crop-pad", type=int, default=2, help="random-crop padding in pixels (0: flip only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bench", type=int, default=0, help="time this many steps and exit")
    ap.add_argument("--out", default="data/models/vrwkv_fmnist.safetensors")
    ap.add_argument("--log", default=None)
    ap.add_argument("--history", default=None, help="write per-epoch metrics as JSON here")
    ap.add_argument("--init", default=None,
                    help="start from the weights of this .safetensors (a second, fine-tuning stage)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    for path in (args.log, args.history, args.out):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fh = open(args.log, "a") if args.log else None
    t_start = time.time()
    log(fh, "args", json.dumps(vars(args)), "torch", torch.__version__, "threads", torch.get_num_threads())

    data = fmnist.load()
    xtr, ytr = data["train"]
    mean = float(np.round(xtr.astype(np.float64).mean(), 4))
    std = float(np.round(xtr.astype(np.float64).std(), 4))
    log(fh, f"train {len(ytr)} val {len(data['val'][1])} test {len(data['test'][1])} mean {mean} std {std}")

    cfg = config_from_json({
        "embed_dims": args.embed_dims, "depth": args.depth, "hidden_rate": 4, "post_norm": args.post_norm,
        "init_values": None, "key_norm": False, "img_size": 28, "patch_size": 4, "in_channels": 1,
        "num_classes": 10, "token_split": 32, "eps": 1e-6, "head": "linear", "head_hidden_dims": None})
    model = build_classifier(cfg, wkv_impl="matrix", drop_path_rate=args.drop_path)
    with torch.no_grad():
        torch.nn.init.trunc_normal_(model.backbone.pos_embed, std=0.02)
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    torch.nn.init.zeros_(m.bias)
    if args.init:
        init_tensors, _ = load_safetensors(args.init)
        model.load_state_dict(init_tensors, strict=True)
        log(fh, "init from", args.init)
    n_params = sum(p.numel() for p in model.state_dict().values())
    log(fh, "config", config_json_text(cfg), "params", n_params)

    no_decay = [p for n, p in model.named_parameters()
                if p.ndim <= 1 or "pos_embed" in n or "spatial_" in n or n.endswith(".bias")]
    decay = [p for n, p in model.named_parameters() if not any(p is q for q in no_decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.999))
    steps_per_epoch = len(ytr) // args.batch_size
    total = args.total_steps or steps_per_epoch * args.epochs
    plan_at = 0 if (args.total_steps or args.time_schedule) else 40
    if args.time_schedule:
        total = 10 ** 9

    # time-based schedule: the training loop may use the budget minus a reserve for start-up,
    # per-epoch validation (~20 s each, up to 12) and the final test + save
    train_seconds = args.minutes * 60 - (time.time() - t_start) - 12 * 20 - 90
    t_warm = [None]

    def progress(step):
        if not args.time_schedule:
            return (step - args.warmup_steps) / max(1, total - args.warmup_steps)
        if t_warm[0] is None:
            t_warm[0] = time.time()
        return (time.time() - t_warm[0]) / max(1.0, train_seconds - (t_warm[0] - t_train))

    def lr_at(step):
        if step < args.warmup_steps:
            return args.lr * (step + 1) / args.warmup_steps
        p = min(1.0, progress(step))
        return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * p)))

    xtr_t = torch.from_numpy(xtr.copy()).float().unsqueeze(1)
    ytr_t = torch.from_numpy(ytr)
    best = {"val_top1": -1.0}
    best_state = None
    history = []
    step = 0
    t_train = time.time()
    stop = False
    for epoch in range(args.epochs):
        if stop:
            break
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        t0 = time.time()
        run_loss = run_acc = 0.0
        for it in range(steps_per_epoch):
            idx = perm[it * args.batch_size:(it + 1) * args.batch_size]
            x = (augment(xtr_t[idx], gen, args.crop_pad) - mean) / std
            y = ytr_t[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step == plan_at:
                # fix the schedule length from the measured speed (85% of the budget, minus evaluations)
                per_step = (time.time() - t_train) / step
                budget = args.minutes * 60 * 0.85 - (time.time() - t_start - (time.time() - t_train))
                total = min(total, max(steps_per_epoch, int(budget / per_step)))
                log(fh, f"measured {per_step:.3f}s/step -> schedule of {total} steps "
                        f"({total / steps_per_epoch:.2f} epochs); rerun with --total-steps {total} to reproduce")
            if args.time_schedule and step > args.warmup_steps and progress(step) >= 1.0:
                log(fh, f"time schedule complete at step {step} ({step / steps_per_epoch:.2f} epochs)")
                stop = True
            if step >= total or (time.time() - t_start) > args.minutes * 60:
                if step < total:
                    log(fh, f"HARD STOP at step {step} of {total}: wall-time budget reached")
                stop = True
            run_loss += loss.item()
            run_acc += (logits.argmax(1) == y).float().mean().item()
            if args.bench and step >= args.bench:
                dt = time.time() - t0
                log(fh, f"bench: {step} steps in {dt:.1f}s = {dt / step:.3f}s/step, "
                        f"epoch ≈ {dt / step * steps_per_epoch / 60:.1f} min")
                return
            if stop:
                steps_per_epoch_done = it + 1
                break
            if (it + 1) % 100 == 0:
                log(fh, f"epoch {epoch + 1} step {it + 1}/{steps_per_epoch} loss {run_loss / (it + 1):.4f} "
                        f"acc {run_acc / (it + 1):.4f} lr {lr_at(step):.2e} {time.time() - t0:.0f}s")
        n_done = steps_per_epoch_done if stop else steps_per_epoch
        val = evaluate(model, *data["val"], mean, std)
        rec = {"epoch": epoch + 1, "steps": step, "train_loss": run_loss / n_done, "train_acc": run_acc / n_done,
               "val_loss": val["loss"], "val_top1": val["top1"], "val_top5": val["top5"],
               "epoch_s": time.time() - t0, "elapsed_s": time.time() - t_start}
        history.append(rec)
        log(fh, "EPOCH", json.dumps(rec))
        if val["top1"] > best["val_top1"]:
            best = dict(rec)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if args.history:
            with open(args.history, "w") as f:
                json.dump({"history": history, "best": best}, f, indent=1)

    model.load_state_dict(best_state)
    test = evaluate(model, *data["test"], mean, std)
    wall = time.time() - t_start
    log(fh, "SELECTED epoch", best["epoch"], "val_top1", best["val_top1"], "TEST", json.dumps(test),
        f"wall {wall / 60:.1f} min")

    preprocess = {"input_size": 28, "crop_pct": 1.0, "resize": True, "interpolation": "bicubic",
                  "color": "gray", "mean": [mean], "std": [std]}
    meta = {"format": "rwkv-vision", "model_id": "vrwkv_fmnist", "config": config_json_text(cfg),
            "preprocess": json.dumps(preprocess), "labels": json.dumps(fmnist.LABELS)}
    tensors = {k: v.float().contiguous() for k, v in model.state_dict().items()}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_safetensors(args.out, tensors, meta)
    # read back and re-check one batch, so the file is known to hold exactly the evaluated model
    back, meta_back = load_safetensors(args.out)
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in back)
    assert meta_back == meta
    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(args.out + ".sha256", "w") as f:
        f.write(f"{digest}  {os.path.basename(args.out)}\n")
    summary = {"params": n_params, "config": cfg, "preprocess": preprocess, "best": best, "test": test,
               "wall_s": wall, "history": history, "sha256": digest, "args": vars(args)}
    if args.history:
        with open(args.history, "w") as f:
            json.dump(summary, f, indent=1)
    log(fh, "wrote", args.out, "sha256", digest)


if __name__ == "__main__":
    main()
