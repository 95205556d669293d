"""The benchmark ViT (tools/rwkv_ref/vit.py): shapes, parameter counts of the DeiT presets,
any input size, and attention equal to a per-head loop.

Run: /usr/bin/python3 tools/tests/test_vit.py   (or with pytest)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from rwkv_ref.vit import Attention, attention_bytes, build_vit, resample_pos_embed  # noqa: E402


def test_param_counts_match_deit():
    # DeiT-Ti 5.72M, DeiT-S 22.05M, DeiT-B 86.57M (timm deit_*_patch16_224)
    for name, want in (("vit_t", 5.717), ("vit_s", 22.05), ("vit_b", 86.57)):
        n = sum(p.numel() for p in build_vit(name).parameters()) / 1e6
        assert abs(n - want) < 0.01, (name, n)


def test_any_size_runs():
    torch.manual_seed(0)
    m = build_vit("vit_t", depth=2).eval()
    with torch.inference_mode():
        for hw in ((224, 224), (100, 60), (32, 48)):
            y = m(torch.randn(2, 3, *hw))
            assert y.shape == (2, 1000) and torch.isfinite(y).all()


def test_pos_embed_identity_and_resize():
    pos = torch.randn(1, 1 + 14 * 14, 8)
    assert resample_pos_embed(pos, (14, 14), (14, 14)) is pos
    out = resample_pos_embed(pos, (14, 14), (7, 9))
    assert out.shape == (1, 1 + 63, 8) and torch.equal(out[:, 0], pos[:, 0])


def test_attention_against_loop():
    torch.manual_seed(1)
    att = Attention(12, 3).eval()
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        y = att(x)
        qkv = att.qkv(x).view(2, 5, 3, 3, 4)
        heads = []
        for h in range(3):
            q, k, v = qkv[:, :, 0, h], qkv[:, :, 1, h], qkv[:, :, 2, h]
            a = torch.softmax(q @ k.transpose(1, 2) / 2.0, dim=-1)
            heads.append(a @ v)
        want = att.proj(torch.cat(heads, dim=-1))
    assert (y - want).abs().max().item() < 1e-6


def test_attention_bytes():
    assert attention_bytes("vit_t", 224, 224) == 3 * 197 * 197 * 4


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
