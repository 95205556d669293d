#!/usr/bin/python3
"""Evaluate a vrwkv_fmnist safetensors file on the Fashion-MNIST test set (Python reference).

  /usr/bin/python3 tools/eval_fmnist.py --model data/models/vrwkv_fmnist.safetensors [--impl recurrent]
      [--split test|val] [--limit N] [--png DIR]

Reads config and preprocessing from the file's __metadata__. --png DIR reads the images from the
ImageFolder tree written by tools/export_fmnist.py instead of the IDX files (same pixels: a check of
the export). --impl recurrent uses the O(T) float64 Bi-WKV (slow); matrix is the training path.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv_ref import fmnist  # noqa: E402
from rwkv_ref.safetensors_io import load_safetensors  # noqa: E402
from rwkv_ref.vrwkv import build_classifier  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="data/models/vrwkv_fmnist.safetensors")
    ap.add_argument("--impl", choices=["matrix", "recurrent"], default="matrix")
    ap.add_argument("--split", choices=["test", "val"], default="test")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--png", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    tensors, meta = load_safetensors(args.model)
    cfg = json.loads(meta["config"])
    pre = json.loads(meta["preprocess"])
    model = build_classifier(cfg, wkv_impl=args.impl)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    if args.impl == "recurrent":
        model.double()

    if args.png:
        images, labels = [], []
        for c, folder in enumerate(fmnist.FOLDERS):
            for name in sorted(os.listdir(os.path.join(args.png, folder))):
                images.append(np.asarray(Image.open(os.path.join(args.png, folder, name)).convert("L")))
                labels.append(c)
        images, labels = np.stack(images), np.array(labels, dtype=np.int64)
    else:
        images, labels = fmnist.load()[args.split]
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    mean, std = float(pre["mean"][0]), float(pre["std"][0])
    c1 = c5 = 0
    with torch.no_grad():
        for i in range(0, len(labels), 500):
            x = (torch.from_numpy(images[i:i + 500].astype(np.float32)).unsqueeze(1) - mean) / std
            if args.impl == "recurrent":
                x = x.double()
            top5 = model(x).topk(5, dim=1).indices
            y = torch.from_numpy(labels[i:i + 500])
            c1 += (top5[:, 0] == y).sum().item()
            c5 += (top5 == y.view(-1, 1)).any(1).sum().item()
    n = len(labels)
    print(json.dumps({"model": args.model, "split": args.split, "impl": args.impl, "n": n,
                      "top1": c1 / n, "top5": c5 / n}))


if __name__ == "__main__":
    main()
