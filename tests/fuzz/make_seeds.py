#!/usr/bin/env python3
"""Writes the seed corpora for the libFuzzer harnesses (tests/fuzz/README.md).

Seeds are the small test fixtures of each format plus a few generated files for formats the
fixtures lack (safetensors in every dtype, BMP/TIFF/WebP/PNM/16-bit images). Usage:
    python3 tests/fuzz/make_seeds.py OUT_DIR     -> OUT_DIR/{pth,safetensors,config,image,nifti}/
"""
import glob
import json
import os
import shutil
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def copy_small(pattern, out, max_bytes):
    for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
        if os.path.getsize(path) <= max_bytes:
            shutil.copy(path, out)


def safetensors_bytes(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes); the format of huggingface/safetensors."""
    header, offset, blob = {}, 0, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blob += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def write_safetensors(out):
    rng = np.random.default_rng(0)
    f = rng.standard_normal(6).astype(np.float32)
    cases = {
        "f32.safetensors": [("a.weight", "F32", [2, 3], f.tobytes())],
        "mixed.safetensors": [
            ("h", "F16", [3], f[:3].astype(np.float16).tobytes()),
            ("b", "BF16", [2], (f[:2].view(np.uint32) >> 16).astype(np.uint16).tobytes()),
            ("d", "F64", [1, 2], f[:2].astype(np.float64).tobytes()),
            ("i", "I64", [2], np.array([1, -2], np.int64).tobytes()),
            ("j", "I32", [1], np.array([7], np.int32).tobytes()),
            ("s", "I16", [1], np.array([7], np.int16).tobytes()),
            ("c", "I8", [2], np.array([1, -1], np.int8).tobytes()),
            ("u", "U8", [2], np.array([1, 255], np.uint8).tobytes()),
            ("q", "BOOL", [1], b"\x01"),
            ("e", "F32", [0, 4], b""),
            ("z", "F32", [], f[:1].tobytes()),
        ],
        "meta.safetensors": [("x", "F32", [1], f[:1].tobytes())],
    }
    for name, tensors in cases.items():
        meta = {"config": '{"depth": 2}', "format": "pt"} if name == "meta.safetensors" else None
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(safetensors_bytes(tensors, meta))


def write_images(out):
    import cv2

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    gray = rgb[:, :, 0]
    for ext in ("bmp", "tiff", "webp", "ppm", "pgm", "png", "jpg"):
        cv2.imwrite(os.path.join(out, f"gen_rgb.{ext}"), gray if ext == "pgm" else rgb)
    cv2.imwrite(os.path.join(out, "gen_rgba.png"), np.dstack([rgb, gray]))
    cv2.imwrite(os.path.join(out, "gen_16.png"), (rgb.astype(np.uint16) * 257))
    cv2.imwrite(os.path.join(out, "gen_16.tiff"), (gray.astype(np.uint16) * 257))
    with open(os.path.join(out, "gen_p1.pbm"), "wb") as fh:
        fh.write(b"P1\n3 2\n1 0 1\n0 1 0\n")


def main():
    out = sys.argv[1]
    dirs = {k: os.path.join(out, k) for k in ("pth", "safetensors", "config", "image", "nifti")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    copy_small("tests/fixtures/weights/*.pth", dirs["pth"], 64 << 10)
    copy_small("tests/fixtures/cli/*.pth", dirs["pth"], 64 << 10)
    copy_small("tests/fixtures/models/tiny_*[!o].pth", dirs["pth"], 64 << 10)
    write_safetensors(dirs["safetensors"])
    copy_small("tests/fixtures/models/*[!t].json", dirs["config"], 4 << 10)
    copy_small("tests/fixtures/cli/[!eb]*.json", dirs["config"], 4 << 10)
    for ext in ("png", "jpg"):
        copy_small(f"tests/fixtures/image/*.{ext}", dirs["image"], 16 << 10)
        copy_small(f"tests/fixtures/cli/*.{ext}", dirs["image"], 16 << 10)
    write_images(dirs["image"])
    copy_small("tests/fixtures/medical/nifti/*.nii*", dirs["nifti"], 64 << 10)
    copy_small("tests/fixtures/medical/corrupt/*.nii*", dirs["nifti"], 64 << 10)
    for k, d in dirs.items():
        print(k, len(os.listdir(d)), "seeds,", sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)), "bytes")


if __name__ == "__main__":
    main()
