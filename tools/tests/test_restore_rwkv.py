"""Checks of tools/rwkv_ref/restore_rwkv.py (plain asserts; run with /usr/bin/python3)."""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from rwkv_ref.bi_wkv import bi_wkv  # noqa: E402
from rwkv_ref.bi_wkv_autograd import bi_wkv_scan_autograd  # noqa: E402
from rwkv_ref.restore_rwkv import (OmniShift, build_restore_rwkv, load_restore_rwkv,  # noqa: E402
                                   save_restore_rwkv)

SMALL = {"dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1}


def test_autograd_scan_matches_recurrent():
    torch.manual_seed(0)
    for T, ts in [(1, 64), (7, 64), (65, 64), (300, 64), (50, 32)]:
        C = 5
        k = torch.randn(2, T, C, dtype=torch.float64) * 3
        v = torch.randn(2, T, C, dtype=torch.float64)
        w = (torch.rand(C, dtype=torch.float64) * 8 - 4) / T
        u = torch.randn(C, dtype=torch.float64) / T
        a = bi_wkv(w, u, k, v, ts, 1e-6, "recurrent")
        b = bi_wkv_scan_autograd(w, u, k, v, ts, 1e-6)
        assert (a - b).abs().max() < 1e-5, (T, ts)
        a0 = bi_wkv(w, u, k, v, ts, 0.0, "recurrent")
        b0 = bi_wkv_scan_autograd(w, u, k, v, ts, 0.0)
        assert (a0 - b0).abs().max() < 1e-10, (T, ts)


def test_autograd_gradcheck():
    torch.manual_seed(1)
    T = 77
    args = [torch.randn(4, dtype=torch.float64) / T, torch.randn(4, dtype=torch.float64) / T,
            torch.randn(2, T, 4, dtype=torch.float64), torch.randn(2, T, 4, dtype=torch.float64)]
    args = [a.requires_grad_() for a in args]
    assert torch.autograd.gradcheck(lambda w, u, k, v: bi_wkv_scan_autograd(w, u, k, v, 64, 0.0), args)


def test_omni_shift_equals_branches():
    torch.manual_seed(2)
    m = OmniShift(6)
    x = torch.randn(2, 6, 9, 11)
    branches = (m.alpha[0] * x + m.alpha[1] * m.conv1x1(x) + m.alpha[2] * m.conv3x3(x)
                + m.alpha[3] * m.conv5x5(x))
    m.eval()
    assert (m(x) - branches).abs().max() < 1e-5
    assert torch.equal(m.conv5x5_reparam.weight, m.combined_weight())


def test_model_impls_agree_and_roundtrip():
    torch.manual_seed(3)
    m = build_restore_rwkv(SMALL, "scan").eval()
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        a = m(x)
        m.set_wkv_impl("train")
        b = m(x)
        m.set_wkv_impl("recurrent")
        c = m(x)
    assert a.shape == x.shape
    assert (a - b).abs().max() < 1e-4 and (a - c).abs().max() < 1e-4
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.safetensors")
        save_restore_rwkv(p, m, SMALL, "tiny", "denoise")
        m2, cfg, meta = load_restore_rwkv(p, "recurrent")
        assert meta["task"] == "denoise" and cfg["dim"] == 8
        with torch.no_grad():
            assert torch.equal(m2(x), c)


def test_sr_and_padding():
    torch.manual_seed(4)
    m = build_restore_rwkv(dict(SMALL, scale=2), "scan").eval()
    with torch.no_grad():
        y = m(torch.rand(1, 3, 8, 12))
        assert y.shape == (1, 3, 16, 24)
        y = m.forward_padded(torch.rand(1, 3, 5, 7))
        assert y.shape == (1, 3, 10, 14)


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print("ok", name)
