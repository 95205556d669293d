"""Fashion-MNIST from the Debian package dataset-fashion-mnist (gzipped IDX files)."""
from __future__ import annotations

import gzip
import hashlib
import os

import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
          "Ankle boot"]
# ImageFolder-safe folder names (no '/' or spaces), index-aligned with LABELS
FOLDERS = ["0_tshirt_top", "1_trouser", "2_pullover", "3_dress", "4_coat", "5_sandal", "6_shirt",
           "7_sneaker", "8_bag", "9_ankle_boot"]
N_VAL = 5000   # the LAST 5,000 training images are the validation split


def _read_idx(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load(root: str = ROOT):
    """Returns dict with uint8 images [N,28,28] and int64 labels for 'train', 'val', 'test'."""
    ti = _read_idx(os.path.join(root, FILES["train_images"]))
    tl = _read_idx(os.path.join(root, FILES["train_labels"])).astype(np.int64)
    si = _read_idx(os.path.join(root, FILES["test_images"]))
    sl = _read_idx(os.path.join(root, FILES["test_labels"])).astype(np.int64)
    n = ti.shape[0] - N_VAL
    return {"train": (ti[:n], tl[:n]), "val": (ti[n:], tl[n:]), "test": (si, sl)}


def sha256s(root: str = ROOT):
    out = {}
    for name in FILES.values():
        with open(os.path.join(root, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out
