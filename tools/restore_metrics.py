#!/usr/bin/env python3
"""PSNR/SSIM references for `rwkv-vision eval restore`, and its test fixtures.

Three independent computations of the same rules (vision/metrics/psnr_ssim.h):
  * BasicSR rules transliterated in numpy (basicsr/metrics/psnr_ssim.py calculate_psnr/_ssim:
    crop_border, to_y_channel = bgr2ycbcr(y_only) on [0, 1] then x255, peak 255, SSIM with
    cv2.getGaussianKernel(11, 1.5) outer product, cv2.filter2D then [5:-5, 5:-5]), in float64;
  * skimage peak_signal_noise_ratio(data_range=255) and structural_similarity(gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1) on the same arrays;
  * Restore-RWKV's medical rules (evaluation/evaluation_metric.py: data range = max - min of the
    reference, 11x11 Gaussian sigma 1.5 with zero padding 5, mean of the map) rewritten with
    torch.nn.functional.conv2d in float64, and skimage PSNR with that data range.

    python3 tools/restore_metrics.py --pred DIR --ref DIR [--crop-border N] [--test-y-channel] [--medical]
    python3 tools/restore_metrics.py --make-fixtures      # tests/fixtures/metrics/*

16-bit images are scaled to [0, 255] (x 255/65535) before the BasicSR rules, as the C++ side does.
"""
import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------- BasicSR rules

def to_y_channel(img):
    """img: HxWx3 RGB (or HxW / HxWx1) on [0, 255]; BasicSR's to_y_channel in float64."""
    img = np.asarray(img, dtype=np.float64)
    if img.ndim == 3 and img.shape[2] == 3:
        x = img / 255.0
        y = np.dot(x, [65.481, 128.553, 24.966]) + 16.0   # bgr2ycbcr weights reordered for RGB
        return (y / 255.0 * 255.0)[..., None]
    return img if img.ndim == 3 else img[..., None]


def crop(img, b):
    return img if b == 0 else img[b:-b, b:-b, ...]


def basicsr_psnr(pred, ref, crop_border=0, y=False):
    p, r = crop(np.asarray(pred, np.float64), crop_border), crop(np.asarray(ref, np.float64), crop_border)
    if y:
        p, r = to_y_channel(p), to_y_channel(r)
    mse = np.mean((p - r) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 * 255.0 / mse))


def _ssim_plane_valid(a, b):
    import cv2
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    k = cv2.getGaussianKernel(11, 1.5)
    win = np.outer(k, k.transpose())
    f = lambda x: cv2.filter2D(x, -1, win)[5:-5, 5:-5]  # noqa: E731
    mu1, mu2 = f(a), f(b)
    s11, s22, s12 = f(a * a) - mu1 ** 2, f(b * b) - mu2 ** 2, f(a * b) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    return m.mean()


def basicsr_ssim(pred, ref, crop_border=0, y=False):
    p, r = crop(np.asarray(pred, np.float64), crop_border), crop(np.asarray(ref, np.float64), crop_border)
    if y:
        p, r = to_y_channel(p), to_y_channel(r)
    if p.ndim == 2:
        p, r = p[..., None], r[..., None]
    return float(np.mean([_ssim_plane_valid(p[..., i], r[..., i]) for i in range(p.shape[2])]))


def skimage_scores(pred, ref, crop_border=0, y=False):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    p, r = crop(np.asarray(pred, np.float64), crop_border), crop(np.asarray(ref, np.float64), crop_border)
    if y:
        p, r = to_y_channel(p), to_y_channel(r)
    if p.ndim == 2:
        p, r = p[..., None], r[..., None]
    psnr = peak_signal_noise_ratio(r, p, data_range=255)
    ssim = structural_similarity(r, p, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=-1)
    return float(psnr), float(ssim)


# ----------------------------------------------------------------------------- medical rules

def medical_scores(pred, ref, crop_border=0, y=False):
    """Restore-RWKV compute_PSNR / compute_SSIM with data_range = max - min of the reference."""
    import torch
    import torch.nn.functional as F
    from skimage.metrics import peak_signal_noise_ratio
    p, r = crop(np.asarray(pred, np.float64), crop_border), crop(np.asarray(ref, np.float64), crop_border)
    if y:
        p, r = to_y_channel(p), to_y_channel(r)
    if p.ndim == 2:
        p, r = p[..., None], r[..., None]
    dr = float(r.max() - r.min())
    psnr = float(peak_signal_noise_ratio(r, p, data_range=dr))
    g = torch.tensor([np.exp(-(x - 5) ** 2 / (2 * 1.5 ** 2)) for x in range(11)], dtype=torch.float64)
    g = g / g.sum()
    win = (g[:, None] @ g[None, :])[None, None]
    vals = []
    for c in range(p.shape[2]):
        a = torch.from_numpy(np.ascontiguousarray(p[..., c]))[None, None]
        b = torch.from_numpy(np.ascontiguousarray(r[..., c]))[None, None]
        cv = lambda x: F.conv2d(x, win, padding=5)  # noqa: E731
        mu1, mu2 = cv(a), cv(b)
        s11, s22, s12 = cv(a * a) - mu1 ** 2, cv(b * b) - mu2 ** 2, cv(a * b) - mu1 * mu2
        c1, c2 = (0.01 * dr) ** 2, (0.03 * dr) ** 2
        m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
        vals.append(m.mean().item())
    return psnr, float(np.mean(vals))


# ----------------------------------------------------------------------------- files

def read_image(path):
    """-> (HxWxC float64 samples, max value): alpha dropped, RGB order, 8 or 16 bit kept."""
    import cv2
    im = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if im is None:
        raise SystemExit(f"cannot read {path}")
    maxv = 65535.0 if im.dtype == np.uint16 else 255.0
    if im.ndim == 2:
        im = im[..., None]
    elif im.shape[2] == 4:
        im = im[..., :3]
    if im.shape[2] == 3:
        im = im[..., ::-1]
    elif im.shape[2] == 2:
        im = im[..., :1]
    return im.astype(np.float64), maxv


def score_pair(pred_path, ref_path, crop_border=0, y=False, medical=False):
    p, pm = read_image(pred_path)
    r, rm = read_image(ref_path)
    if medical:
        return medical_scores(p, r, crop_border, y)
    p, r = p * (255.0 / pm), r * (255.0 / rm)
    return basicsr_psnr(p, r, crop_border, y), basicsr_ssim(p, r, crop_border, y)


def score_dirs(pred_dir, ref_dir, crop_border=0, y=False, medical=False):
    out = {}
    preds = {os.path.splitext(f)[0]: f for f in os.listdir(pred_dir)}
    for f in sorted(os.listdir(ref_dir)):
        stem = os.path.splitext(f)[0]
        out[stem] = score_pair(os.path.join(pred_dir, preds[stem]), os.path.join(ref_dir, f), crop_border, y,
                               medical)
    return out


# ----------------------------------------------------------------------------- fixtures

def _fixture_images(rng):
    """Small deterministic pairs: smooth pattern + noise; gray/RGB, 8/16 bit, odd sizes."""
    cases = []
    for name, h, w, c, maxv in [("rgb8_23x31", 23, 31, 3, 255), ("gray8_19x16", 19, 16, 1, 255),
                                ("rgb16_17x21", 17, 21, 3, 65535), ("gray16_24x17", 24, 17, 1, 65535),
                                ("rgb8_40x36", 40, 36, 3, 255)]:
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([0.5 + 0.4 * np.sin(xx / 3.0 + k) * np.cos(yy / 4.0 - k) for k in range(c)], -1)
        ref = np.clip(np.round(base * maxv), 0, maxv)
        pred = np.clip(np.round(ref + rng.normal(0, 0.06 * maxv, ref.shape)), 0, maxv)
        cases.append((name, pred.astype(np.int64), ref.astype(np.int64), maxv))
    return cases


def make_fixtures():
    import cv2
    rng = np.random.default_rng(20261125)
    fx = os.path.join(REPO, "tests", "fixtures", "metrics")
    os.makedirs(os.path.join(fx, "pred"), exist_ok=True)
    os.makedirs(os.path.join(fx, "ref"), exist_ok=True)
    cases = []
    for name, pred, ref, maxv in _fixture_images(rng):
        dtype = np.uint16 if maxv == 65535 else np.uint8
        for sub, arr in (("pred", pred), ("ref", ref)):
            a = arr.astype(dtype)
            a = a[..., ::-1] if a.shape[2] == 3 else a[..., 0]
            cv2.imwrite(os.path.join(fx, sub, name + ".png"), np.ascontiguousarray(a))
        entry = {"name": name, "height": int(ref.shape[0]), "width": int(ref.shape[1]),
                 "channels": int(ref.shape[2]), "max_value": maxv,
                 "pred": pred.reshape(-1).tolist(), "ref": ref.reshape(-1).tolist(), "expected": []}
        p8, r8 = pred * (255.0 / maxv), ref * (255.0 / maxv)
        for crop_b in (0, 2):
            for y in (False, True):
                bp, bs = basicsr_psnr(p8, r8, crop_b, y), basicsr_ssim(p8, r8, crop_b, y)
                kp, ks = skimage_scores(p8, r8, crop_b, y)
                assert abs(bp - kp) < 1e-9 and abs(bs - ks) < 1e-9, (name, crop_b, y, bp, kp, bs, ks)
                entry["expected"].append({"rules": "basicsr", "crop_border": crop_b, "y": y, "psnr": bp,
                                          "ssim": bs})
                mp, ms = medical_scores(pred.astype(np.float64), ref.astype(np.float64), crop_b, y)
                entry["expected"].append({"rules": "medical", "crop_border": crop_b, "y": y, "psnr": mp,
                                          "ssim": ms})
        cases.append(entry)
    with open(os.path.join(fx, "cases.json"), "w") as f:
        json.dump({"generator": "tools/restore_metrics.py --make-fixtures", "cases": cases}, f)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {fx}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pred")
    ap.add_argument("--ref")
    ap.add_argument("--crop-border", type=int, default=0)
    ap.add_argument("--test-y-channel", action="store_true")
    ap.add_argument("--medical", action="store_true")
    ap.add_argument("--make-fixtures", action="store_true")
    a = ap.parse_args()
    if a.make_fixtures:
        make_fixtures()
        return
    if not (a.pred and a.ref):
        sys.exit("--pred and --ref are needed")
    res = score_dirs(a.pred, a.ref, a.crop_border, a.test_y_channel, a.medical)
    for k, (p, s) in res.items():
        print(f"{k}\t{p:.6f}\t{s:.6f}")
    print(f"mean\t{np.mean([v[0] for v in res.values()]):.6f}\t{np.mean([v[1] for v in res.values()]):.6f}")


if __name__ == "__main__":
    main()
