#!/usr/bin/python3
"""Export Fashion-MNIST test images as PNG files for `rwkv-vision eval cls` and the samples.

  /usr/bin/python3 tools/export_fmnist.py --out /tmp/fmnist_test      # 10,000 test images
      -> <out>/<folder>/<index>.png, folder = FOLDERS[label] (see below), index = position in t10k
         plus <out>/classes.json: [{"index", "folder", "label"}] (folder -> class name mapping)
  /usr/bin/python3 tools/export_fmnist.py --samples data/samples/fmnist   # 6 sample images

Folder names sort in class-index order (0_tshirt_top ... 9_ankle_boot), so an ImageFolder reader
that sorts folder names assigns the same indices as the model's labels.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv_ref import fmnist  # noqa: E402

# test-set indices of the bundled samples: the first test image of six different classes
SAMPLE_CLASSES = [0, 1, 5, 7, 8, 9]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="write all 10,000 test images as an ImageFolder tree here")
    ap.add_argument("--samples", help="write a few sample test images here")
    args = ap.parse_args()
    if not args.out and not args.samples:
        ap.error("give --out and/or --samples")
    images, labels = fmnist.load()["test"]
    if args.out:
        for folder in fmnist.FOLDERS:
            os.makedirs(os.path.join(args.out, folder), exist_ok=True)
        for i in range(len(labels)):
            Image.fromarray(images[i], mode="L").save(
                os.path.join(args.out, fmnist.FOLDERS[labels[i]], f"{i:05d}.png"), optimize=True)
        with open(os.path.join(args.out, "classes.json"), "w") as f:
            json.dump([{"index": i, "folder": d, "label": n}
                       for i, (d, n) in enumerate(zip(fmnist.FOLDERS, fmnist.LABELS))], f, indent=1)
        print(f"wrote {len(labels)} images under {args.out}")
    if args.samples:
        os.makedirs(args.samples, exist_ok=True)
        manifest = []
        for c in SAMPLE_CLASSES:
            i = int((labels == c).nonzero()[0][0])
            name = f"{fmnist.FOLDERS[c][2:]}_{i:05d}.png"
            Image.fromarray(images[i], mode="L").save(os.path.join(args.samples, name), optimize=True)
            manifest.append({"file": name, "test_index": i, "label_index": c, "label": fmnist.LABELS[c]})
        with open(os.path.join(args.samples, "labels.json"), "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        print(f"wrote {len(manifest)} samples under {args.samples}")


if __name__ == "__main__":
    main()
