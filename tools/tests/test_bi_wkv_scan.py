"""Bi-WKV: the vectorised O(T) scan (bi_wkv_scan) against the O(T) recursion (spec §2.6).

Reference: ``bi_wkv_recurrent`` in float64. Checked in float64 (same algebra, different
summation order: ~1e-14) and in float32 (the default for float32 inputs; the reference is fed the
same float32-rounded inputs, so only the scan's own rounding is measured). Cases: T in
{1, 2, 7, 33, 196, 1000}, token_split 16 and 32, |k| up to 3 and up to 200, spatial_decay in
[-8, 8], spatial_first in [-3, 3]. Prints the worst errors.

Run: /usr/bin/python3 tools/tests/test_bi_wkv_scan.py   (or with pytest)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from rwkv_ref.bi_wkv import _cummax, bi_wkv, bi_wkv_recurrent, bi_wkv_scan  # noqa: E402
from rwkv_ref.vrwkv import build_classifier, preset_config  # noqa: E402

F64 = torch.float64
TS = (1, 2, 7, 33, 196, 1000)
# Tolerances (absolute on y; |v| <= 1 so |y| is O(1) for well-conditioned rows)
TOL_F64 = 1e-12
TOL_F32 = 5e-6          # measured worst: ~5e-7
TOL_F32_APPROX_EPS = 5e-5   # exact_eps=False: + the EPS approximation (measured worst ~8e-6)


def _cases(seed=0):
    gen = torch.Generator().manual_seed(seed)
    C = 6
    for T in TS:
        for ts in (16, 32):
            for k_scale in (3.0, 200.0):
                k = (torch.rand(2, T, C, generator=gen, dtype=F64) * 2 - 1) * k_scale
                v = torch.rand(2, T, C, generator=gen, dtype=F64) * 2 - 1
                w = (torch.rand(C, generator=gen, dtype=F64) * 16 - 8) / T     # decay in [-8, 8]
                u = (torch.rand(C, generator=gen, dtype=F64) * 6 - 3) / T
                yield T, ts, k_scale, w, u, k, v


def test_scan_matches_recurrent():
    worst = {"f64": 0.0, "f32": 0.0, "f32_approx_eps": 0.0}
    for T, ts, k_scale, w, u, k, v in _cases():
        yr = bi_wkv_recurrent(w, u, k, v, ts, 1e-6)
        ys = bi_wkv_scan(w, u, k, v, ts, 1e-6)
        assert ys.dtype == F64 and torch.isfinite(ys).all()
        e64 = (ys - yr).abs().max().item()
        a32 = [x.float() for x in (w, u, k, v)]
        yr32 = bi_wkv_recurrent(*[x.double() for x in a32], ts, 1e-6)
        ys32 = bi_wkv_scan(*a32, ts, 1e-6)
        assert ys32.dtype == torch.float32 and torch.isfinite(ys32).all()
        e32 = (ys32.double() - yr32).abs().max().item()
        ea = (bi_wkv_scan(*a32, ts, 1e-6, exact_eps=False).double() - yr32).abs().max().item()
        assert e64 <= TOL_F64, (T, ts, k_scale, e64)
        assert e32 <= TOL_F32, (T, ts, k_scale, e32)
        assert ea <= TOL_F32_APPROX_EPS, (T, ts, k_scale, ea)
        worst["f64"] = max(worst["f64"], e64)
        worst["f32"] = max(worst["f32"], e32)
        worst["f32_approx_eps"] = max(worst["f32_approx_eps"], ea)
    print("  bi_wkv_scan vs bi_wkv_recurrent, max |dy| over all cases:",
          ", ".join(f"{kk} {vv:.2e}" for kk, vv in worst.items()))


def test_scan_eps_zero_and_dispatch():
    for T, ts, _, w, u, k, v in _cases(seed=1):
        y0 = bi_wkv_scan(w, u, k, v, ts, 0.0)
        assert (y0 - bi_wkv_recurrent(w, u, k, v, ts, 0.0)).abs().max().item() <= TOL_F64
        assert torch.equal(bi_wkv(w, u, k, v, ts, 1e-6, impl="scan"), bi_wkv_scan(w, u, k, v, ts, 1e-6))
        assert torch.equal(bi_wkv(w, u, k, v, ts, 1e-6, impl="scan_fast"),
                           bi_wkv_scan(w, u, k, v, ts, 1e-6, exact_eps=False))


def test_cummax_helper():
    gen = torch.Generator().manual_seed(2)
    for n in (1, 2, 3, 7, 16, 17, 32, 48, 512):
        x = torch.randn(2, n, 3, generator=gen)
        for exclusive in (False, True):
            for reverse in (False, True):
                xr = x.flip(1) if reverse else x
                ref = torch.cummax(xr, 1).values
                if exclusive:
                    ref = torch.cat([torch.full_like(ref[:, :1], float("-inf")), ref[:, :-1]], 1)
                if reverse:
                    ref = ref.flip(1)
                assert torch.equal(_cummax(x, 1, exclusive, reverse), ref), (n, exclusive, reverse)


def test_model_with_scan_matches_recurrent():
    """A small VRWKV built with wkv_impl='scan' gives the logits of the recurrent one."""
    torch.manual_seed(0)
    cfg = preset_config("vrwkv_t", embed_dims=32, depth=2, num_classes=5, img_size=64)
    model = build_classifier(cfg, wkv_impl="scan").eval()
    x = torch.randn(1, 3, 80, 48)
    with torch.inference_mode():
        ys = model(x)
        model.backbone.set_wkv_impl("recurrent")
        yr = model(x)
    err = (ys - yr).abs().max().item()
    assert err < 1e-4, err


def test_large_T_is_finite():
    gen = torch.Generator().manual_seed(3)
    T, C = 16384, 4
    k = torch.randn(1, T, C, generator=gen) * 5
    v = torch.randn(1, T, C, generator=gen)
    w = torch.tensor([-8.0, -1.0, 1.0, 8.0]) / T
    u = torch.zeros(C)
    y = bi_wkv_scan(w, u, k, v, 32, 1e-6)
    assert torch.isfinite(y).all()
    # spot check against the recursion on a few channels (float64 reference)
    yr = bi_wkv_recurrent(w.double(), u.double(), k.double(), v.double(), 32, 1e-6)
    err = (y.double() - yr).abs().max().item()
    assert err < 1e-4, err


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
