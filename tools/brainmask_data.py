"""Data for the bundled T1 brain-extraction model (zoo id brainmask_t1).

Training subject: Colin27 (Debian package mricron-data, /usr/share/mricron/templates):
  ch2.nii.gz (1 mm, 181x217x181) and ch2better.nii.gz (0.5 mm, resampled here onto ch2's grid by
  the two files' affines), reference mask = ch2bet.nii.gz > 0 with holes filled in 3-D
  (scipy.ndimage.binary_fill_holes) — an automatic (BET) mask, not a manual one.
Test subject (never used for training or model selection): insighttoolkit5-examples
  KmeansTest_T1UCharRaw.nii.gz (2x2x3 mm, LSA), mask = KmeansTest_T1RawSkullStrip.nii.gz > 0.

The model convention (written into the safetensors metadata and SegPreprocess; the C++ pipeline
reproduces it):
  * reorient to RAS (nibabel.as_closest_canonical);
  * intensity: per volume, lo/hi = numpy.percentile(all voxels, [0.5, 99.5]),
    x = clip((x - lo) / (hi - lo), 0, 1);
  * 2-D slices v.take(s, axis) (rows = lower remaining axis, columns = higher), axial (axis 2)
    at inference; training uses all three axes;
  * each slice resized to INPUT x INPUT with bilinear interpolation, align_corners=False, no
    antialiasing (torch F.interpolate); logits resized back the same way, then argmax.
"""
from __future__ import annotations

import os
from typing import Dict, List, Tuple

import nibabel as nib
import numpy as np
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F

MRICRON = "/usr/share/mricron/templates"
ITK_DATA = "/usr/share/doc/insighttoolkit5-examples/examples/Data"
TEST_IMAGE = os.path.join(ITK_DATA, "KmeansTest_T1UCharRaw.nii.gz")
TEST_MASK = os.path.join(ITK_DATA, "KmeansTest_T1RawSkullStrip.nii.gz")
INPUT = 64
P_LO, P_HI = 0.5, 99.5


def load_ras(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """(float32 data in RAS voxel order, RAS affine)."""
    img = nib.as_closest_canonical(nib.load(path))
    return np.asarray(img.dataobj, dtype=np.float32), img.affine


def normalise(vol: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(vol, [P_LO, P_HI])
    if hi <= lo:
        return np.zeros_like(vol, dtype=np.float32)
    return np.clip((vol - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def resample_to(src: np.ndarray, src_aff: np.ndarray, dst_shape, dst_aff: np.ndarray, order=1) -> np.ndarray:
    """src resampled onto the dst voxel grid (world coordinates from both affines)."""
    m = np.linalg.inv(src_aff) @ dst_aff
    return ndi.affine_transform(src, m[:3, :3], m[:3, 3], output_shape=dst_shape, order=order,
                                mode="constant", cval=0.0).astype(np.float32)


def training_volumes() -> Tuple[List[np.ndarray], np.ndarray]:
    """([ch2, ch2better on ch2's grid], mask) — all normalised, RAS, 181x217x181."""
    ch2, aff = load_ras(os.path.join(MRICRON, "ch2.nii.gz"))
    bet, bet_aff = load_ras(os.path.join(MRICRON, "ch2bet.nii.gz"))
    assert bet.shape == ch2.shape and np.allclose(bet_aff, aff)
    mask = ndi.binary_fill_holes(bet > 0)
    better, baff = load_ras(os.path.join(MRICRON, "ch2better.nii.gz"))
    # Smooth before taking every other voxel (0.5 mm -> 1 mm).
    better = resample_to(ndi.gaussian_filter(better, 0.5), baff, ch2.shape, aff, order=1)
    return [normalise(ch2), normalise(better)], mask.astype(np.uint8)


def test_volume() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    img, aff = load_ras(TEST_IMAGE)
    m, maff = load_ras(TEST_MASK)
    assert m.shape == img.shape and np.allclose(aff, maff)
    return normalise(img), (m > 0).astype(np.uint8), aff


# --------------------------------------------------------------------------- slices

def held_out(axis: int, index: int, n: int) -> bool:
    """Model selection uses a slab of slices per axis (45%-55% of the axis); training never sees
    those slices. (Slices of the other two axes cross the slab: the voxels are not disjoint.)"""
    return int(0.45 * n) <= index < int(0.55 * n)


def slice_list(mask: np.ndarray, train: bool) -> List[Tuple[int, int]]:
    out = []
    for axis in range(3):
        n = mask.shape[axis]
        for s in range(n):
            if held_out(axis, s, n) != (not train):
                continue
            area = mask.take(s, axis=axis).sum()
            # keep all brain slices and a few empty ones near the brain
            if area > 0 or (s % 6 == 0):
                out.append((axis, s))
    return out


def resize2d(x: np.ndarray, size: int, mode="bilinear") -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None]
    if mode == "nearest":
        return F.interpolate(t, size=(size, size), mode="nearest")[0, 0].numpy()
    return F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)[0, 0].numpy()


def augment(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, size: int = INPUT):
    """One training sample from a 1 mm slice: field of view, scale per axis, rotation, flips,
    resolution (2-3 mm), then intensity (gamma, contrast, bias field, noise)."""
    h, w = img.shape
    # Lower resolution like 2-3 mm scans: blur the 1 mm slice.
    sig = rng.uniform(0.0, 1.3, size=2)
    img = ndi.gaussian_filter(img, sig)
    # Output grid covers a field of view f times the slice's own extent per axis (other FOVs and
    # voxel aspect ratios), shifted and rotated a little.
    f = rng.uniform(0.8, 1.6, size=2)
    ang = np.deg2rad(rng.uniform(-12, 12))
    c, s = np.cos(ang), np.sin(ang)
    rot = np.array([[c, -s], [s, c]])
    scale = np.diag([h * f[0] / size, w * f[1] / size])
    A = rot @ scale
    centre_in = np.array([h / 2, w / 2]) + rng.uniform(-0.08, 0.08, size=2) * np.array([h, w])
    centre_out = np.array([size / 2, size / 2])
    off = centre_in - A @ centre_out
    im = ndi.affine_transform(img, A, off, output_shape=(size, size), order=1, mode="constant")
    mk = ndi.affine_transform(mask.astype(np.float32), A, off, output_shape=(size, size), order=1,
                              mode="constant") > 0.5
    if rng.random() < 0.5:
        im, mk = im[::-1], mk[::-1]
    if rng.random() < 0.5:
        im, mk = im[:, ::-1], mk[:, ::-1]
    # Intensity.
    im = np.clip(im, 0, 1) ** rng.uniform(0.6, 1.6)
    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    coef = rng.uniform(-0.25, 0.25, size=5)
    bias = 1 + coef[0] * yy + coef[1] * xx + coef[2] * yy * xx + coef[3] * yy ** 2 + coef[4] * xx ** 2
    im = im * bias * rng.uniform(0.8, 1.25) + rng.uniform(-0.05, 0.05)
    im = im + rng.normal(0, rng.uniform(0, 0.04), size=im.shape)
    return np.ascontiguousarray(im, dtype=np.float32), np.ascontiguousarray(mk, dtype=np.int64)


def plain_sample(img: np.ndarray, mask: np.ndarray, size: int = INPUT):
    """Validation sample: the slice resized as at inference (no augmentation)."""
    return resize2d(img, size), (resize2d(mask.astype(np.float32), size) > 0.5).astype(np.int64)


# --------------------------------------------------------------------------- inference on a volume

@torch.no_grad()
def predict_volume(model, vol: np.ndarray, axis: int = 2, size: int = INPUT, batch: int = 16) -> np.ndarray:
    """Label map (uint8) of a normalised RAS volume, slice by slice along `axis`."""
    model.eval()
    n = vol.shape[axis]
    out = np.zeros(vol.shape, dtype=np.uint8)
    for b0 in range(0, n, batch):
        idx = list(range(b0, min(n, b0 + batch)))
        sl = [vol.take(i, axis=axis) for i in idx]
        hw = sl[0].shape
        x = torch.from_numpy(np.stack([resize2d(s, size) for s in sl]))[:, None]
        logits = model(x.contiguous(memory_format=torch.channels_last))
        logits = F.interpolate(logits, size=hw, mode="bilinear", align_corners=False)
        lab = logits.argmax(1).numpy().astype(np.uint8)
        for j, i in enumerate(idx):
            sel = [slice(None)] * 3
            sel[axis] = i
            out[tuple(sel)] = lab[j]
    return out


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else float(2.0 * (a & b).sum() / s)


def preprocess_metadata() -> Dict:
    """The SegPreprocess fields (heads/segmenter.h) of this model, as JSON-able dict."""
    return {"input_h": INPUT, "input_w": INPUT, "in_channels": 1, "repeat_gray_to_rgb": True,
            "orientation": "RAS", "slice_axis": 2, "any_axis": True,
            "resize_in": "bilinear", "resize_out": "bilinear_logits", "train_spacing_mm": 0.0,
            "intensity": {"mode": "percentile", "p_lo": P_LO, "p_hi": P_HI, "nonzero_only": False,
                          "lo": 0.0, "hi": 1.0, "mean": 0.0, "std": 1.0}}
