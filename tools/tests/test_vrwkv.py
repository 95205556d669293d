"""Shape, key-name and parameter-count checks of the PyTorch reference model."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from rwkv_ref.vrwkv import build_classifier, config_from_json, preset_config, q_shift  # noqa: E402


def _count(m):
    return sum(p.numel() for p in m.state_dict().values())


def test_preset_param_counts():
    # Hand count: patch C*3*256+C, pos 196C, ln0 + final LN 4C, per layer 13C^2 + 11C, head 1001C.
    # (spec §2.9 "my count" is 24C lower -- 2C per layer missing there; README 6.2M / 23.8M agree.)
    for name, C in (("vrwkv_t", 192), ("vrwkv_s", 384)):
        want = C * 3 * 256 + C + 196 * C + 4 * C + 12 * (13 * C * C + 11 * C) + 1000 * C + 1000
        if name == "vrwkv_s":
            want += 12 * 2 * C   # gamma1, gamma2
        assert _count(build_classifier(preset_config(name))) == want, name


def test_keys():
    m = build_classifier(preset_config("vrwkv_s", depth=2))
    keys = set(m.state_dict())
    for k in ["backbone.patch_embed.projection.weight", "backbone.patch_embed.projection.bias",
              "backbone.pos_embed", "backbone.layers.0.ln0.weight", "backbone.layers.1.gamma2",
              "backbone.layers.1.att.spatial_decay", "backbone.layers.1.att.spatial_mix_v",
              "backbone.layers.1.att.output.weight", "backbone.layers.1.ffn.value.weight",
              "backbone.ln1.bias", "head.fc.weight", "head.fc.bias"]:
        assert k in keys, k
    assert "backbone.layers.1.ln0.weight" not in keys
    assert m.state_dict()["backbone.pos_embed"].shape == (1, 196, 384)
    l_cfg = preset_config("vrwkv_l", depth=1, embed_dims=32, head_hidden_dims=48)
    ml = build_classifier(l_cfg)
    kl = set(ml.state_dict())
    assert {"head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias",
            "backbone.layers.0.att.key_norm.weight", "backbone.layers.0.ffn.key_norm.bias"} <= kl
    assert ml.state_dict()["backbone.layers.0.ffn.key_norm.weight"].shape == (128,)
    assert ml.state_dict()["backbone.pos_embed"].shape == (1, 144, 32)


def test_q_shift_odd_channels():
    x = torch.arange(6 * 10, dtype=torch.float64).view(1, 6, 10).expand(2, 6, 10).clone()
    y = q_shift(x, (2, 3))
    g = x.view(2, 2, 3, 10)
    o = y.view(2, 2, 3, 10)
    # C=10: boundaries 2, 5, 7, 10
    assert torch.equal(o[:, :, 1:, 0:2], g[:, :, :-1, 0:2]) and (o[:, :, 0, 0:2] == 0).all()
    assert torch.equal(o[:, :, :-1, 2:5], g[:, :, 1:, 2:5]) and (o[:, :, -1, 2:5] == 0).all()
    assert torch.equal(o[:, 1:, :, 5:7], g[:, :-1, :, 5:7]) and (o[:, 0, :, 5:7] == 0).all()
    assert torch.equal(o[:, :-1, :, 7:10], g[:, 1:, :, 7:10]) and (o[:, -1, :, 7:10] == 0).all()


def test_forward_odd_size_and_impls_agree():
    cfg = config_from_json({"embed_dims": 16, "depth": 2, "patch_size": 8, "img_size": 32,
                            "num_classes": 5, "in_channels": 1})
    torch.manual_seed(0)
    m = build_classifier(cfg).double().eval()
    x = torch.randn(2, 1, 37, 53, dtype=torch.float64)
    inter = {}
    y1 = m(x, inter)
    assert y1.shape == (2, 5)
    assert inter["embed"].shape == (2, 5 * 7, 16)
    m.backbone.set_wkv_impl("matrix")
    y2 = m(x)
    assert (y1 - y2).abs().max().item() < 1e-12


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)
