"""Train the bundled T1 brain-extraction model (zoo id brainmask_t1): a narrow RWKV-UNet
(tools/rwkv_ref/rwkv_unet.py preset rwkv_unet_n, 2 classes) on Colin27 slices from all three
orientations (tools/brainmask_data.py), for a fixed wall-clock budget.

    nice -n 10 /usr/bin/python3 tools/train_brainmask.py --minutes 50 --threads 2 \
        --out data/models/brainmask_t1.safetensors --log data/models/brainmask_t1.train.log

Model selection: Dice on the held-out slab of the training subject's slices only (never the test
subject). The test subject is evaluated by tools/eval_brainmask.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brainmask_data as bd  # noqa: E402
from rwkv_ref.rwkv_unet import build_unet, config_json_text, preset_config, unused_keys  # noqa: E402
from rwkv_ref.safetensors_io import load_safetensors, save_safetensors  # noqa: E402

CONFIG = {"arch": "rwkv_unet_n", "num_classes": 2, "img_size": bd.INPUT, "name": "brainmask_t1"}


def save_model(model, path: str, extra: dict):
    un = set(unused_keys(model))
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items() if k not in un}
    meta = {"format": "rwkv-vision", "task": "segmentation", "arch": "rwkv_unet",
            "config": config_json_text(model.cfg), "preprocess": json.dumps(bd.preprocess_metadata(), sort_keys=True),
            "labels": json.dumps(["background", "brain"]), "training": json.dumps(extra, sort_keys=True)}
    tmp = path + ".tmp"
    save_safetensors(tmp, tensors, meta)
    os.replace(tmp, path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(path + ".sha256", "w") as f:
        f.write(f"{digest}  {os.path.basename(path)}\n")
    return digest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=40)
    ap.add_argument("--out", default="data/models/brainmask_t1.safetensors")
    ap.add_argument("--log", default="")
    ap.add_argument("--init", default=None,
                    help="start from these weights (a second, fine-tuning stage); unused keys keep their init")
    ap.add_argument("--warmup", type=float, default=0.03, help="fraction of the budget with a linear LR warm-up")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    logf = open(args.log, "w") if args.log else None

    def log(msg):
        print(msg, flush=True)
        if logf:
            logf.write(msg + "\n")
            logf.flush()

    log(f"command: {' '.join(sys.argv)}")
    vols, mask = bd.training_volumes()
    train = bd.slice_list(mask, train=True)
    val = bd.slice_list(mask, train=False)
    log(f"training slices {len(train)} (x2 volumes), held-out slices {len(val)}")
    vx, vy = zip(*[bd.plain_sample(vols[0].take(s, axis=a), mask.take(s, axis=a)) for a, s in val])
    vx = torch.from_numpy(np.stack(vx))[:, None].contiguous(memory_format=torch.channels_last)
    vy = torch.from_numpy(np.stack(vy))

    model = build_unet(preset_config(**CONFIG), wkv_impl="matrix").to(memory_format=torch.channels_last)
    n_params = sum(v.numel() for k, v in model.state_dict().items() if k not in set(unused_keys(model)))
    log(f"config {config_json_text(model.cfg)}  parameters used {n_params}")
    if args.init:
        init_tensors, _ = load_safetensors(args.init)
        missing, unexpected = model.load_state_dict(init_tensors, strict=False)
        bad = [k for k in missing if k not in set(unused_keys(model))]
        if bad or unexpected:
            raise SystemExit(f"--init {args.init}: missing {bad[:5]} unexpected {list(unexpected)[:5]}")
        log(f"init from {args.init}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60.0
    t0 = time.time()
    best = (-1.0, None, 0)
    step = 0

    def lr_at(frac):
        warm = args.warmup
        return args.lr * (frac / warm if frac < warm else 0.5 * (1 + np.cos(np.pi * min(1.0, (frac - warm) / (1 - warm)))))

    def validate():
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(vx[i:i + 16]).argmax(1) for i in range(0, len(vx), 16)])
        model.train()
        inter = ((pred == 1) & (vy == 1)).sum().item()
        return 2.0 * inter / max(1, (pred == 1).sum().item() + (vy == 1).sum().item())

    while True:
        frac = (time.time() - t0) / budget
        if frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(frac)
        xs, ys = [], []
        for _ in range(args.batch):
            a, s = train[rng.integers(len(train))]
            v = vols[1] if rng.random() < 0.15 else vols[0]
            x, y = bd.augment(v.take(s, axis=a), mask.take(s, axis=a), rng)
            xs.append(x)
            ys.append(y)
        x = torch.from_numpy(np.stack(xs))[:, None].contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(np.stack(ys))
        logits = model(x)
        ce = F.cross_entropy(logits, y)
        p = logits.softmax(1)[:, 1]
        yf = y.float()
        soft_dice = 1 - (2 * (p * yf).sum() + 1) / (p.sum() + yf.sum() + 1)
        loss = ce + soft_dice
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 2.0)
        opt.step()
        step += 1
        if step % 10 == 0:
            log(f"step {step} t {time.time() - t0:.0f}s lr {lr_at(frac):.2e} loss {loss.item():.4f} "
                f"ce {ce.item():.4f} dice_loss {soft_dice.item():.4f}")
        if step % args.eval_every == 0:
            d = validate()
            if d > best[0]:
                best = (d, {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
                save_model(model, args.out, {"step": step, "heldout_dice": d, "seed": args.seed})
            log(f"eval step {step} held-out slice Dice {d:.4f} (best {best[0]:.4f} at step {best[2]})")
    d = validate()
    if d > best[0]:
        best = (d, {k: v.detach().clone() for k, v in model.state_dict().items()}, step)
    log(f"final step {step} held-out Dice {d:.4f}; keeping step {best[2]} (Dice {best[0]:.4f})")
    model.load_state_dict(best[1])
    digest = save_model(model, args.out, {"step": best[2], "steps_total": step, "heldout_dice": best[0],
                                          "seed": args.seed, "minutes": args.minutes, "batch": args.batch,
                                          "lr": args.lr, "init": args.init})
    log(f"wrote {args.out} sha256 {digest}")


if __name__ == "__main__":
    main()
