#!/usr/bin/python3
"""Golden fixtures for the dense-prediction ops (vision/ops/conv2d.h, vision/ops/dense_ops.h).

Deterministic; rerun any time:  /usr/bin/python3 tools/make_conv_fixtures.py [--root REPO]
Writes tests/fixtures/ops_dense/<op>_<case>.pth (flat dict name -> tensor, settings as tensors), all
maps channels-last (NHWC, the engine's layout; PyTorch ran on the NCHW permutation).

  conv_<case>.pth      x [B,H,W,Cin], weight [Cout,Cin/g,kh,kw], bias [Cout] (absent: no bias),
                       geom i64 [in,out,kh,kw,sh,sw,pad_t,pad_l,pad_b,pad_r,dil_h,dil_w,groups],
                       act i64 (index into ops::Activation: none relu relu6 gelu sigmoid silu
                       hardswish), residual [B,OH,OW,Cout] (optional), y = act(conv2d(x)) [+ residual].
                       Computed in float64 from the stored float32 values, rounded to float32.
  conv_bn_<case>.pth   as conv_, plus bn_weight, bn_bias, bn_mean, bn_var, bn_eps: y = act(BN(conv(x)))
                       (eval mode), for fold_batch_norm.
  pixel_shuffle_r<r>.pth, pixel_unshuffle_r<r>.pth   x, r, y.
  bilinear_<case>.pth / nearest_<case>.pth           x, out_hw i64 [2], align_corners i64,
                       scale i64->f64 as float32 [2] (0: size given), y. float32 PyTorch (the index
                       arithmetic of PyTorch's float kernel is part of what is matched).
  pad_reflect.pth      x, pads i64 [t,b,l,r], y.
  se.pth               x, gate [B,C], pooled = x.mean((2,3)), y = x * gate.
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.nn.functional as F

ACTS = ["none", "relu", "relu6", "gelu", "sigmoid", "silu", "hardswish"]


def act_fn(name, x):
    return {
        "none": lambda t: t,
        "relu": F.relu,
        "relu6": F.relu6,
        "gelu": F.gelu,  # exact (erf)
        "sigmoid": torch.sigmoid,
        "silu": F.silu,
        "hardswish": F.hardswish,
    }[name](x)


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


def nchw(t):
    return t.permute(0, 3, 1, 2).contiguous()


class Writer:
    def __init__(self, root):
        self.dir = os.path.join(root, "tests", "fixtures", "ops_dense")
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def save(self, name, d):
        d = {k: (v.detach().contiguous().clone() if isinstance(v, torch.Tensor) else v) for k, v in d.items()}
        torch.save(d, os.path.join(self.dir, name + ".pth"))
        self.n += 1


def conv_case(w, name, gen, B, H, W, cin, cout, k, stride=1, pad=None, dil=1, groups=1, bias=True,
              act="none", residual=False, bn=False):
    pad = (k // 2) * dil if pad is None else pad
    x = torch.rand(B, H, W, cin, generator=gen) * 2 - 1
    fan_in = cin // groups * k * k
    weight = (torch.rand(cout, cin // groups, k, k, generator=gen) * 2 - 1) * (3.0 / fan_in) ** 0.5
    b = (torch.rand(cout, generator=gen) * 2 - 1) * 0.5 if bias else None
    y = F.conv2d(nchw(x).double(), weight.double(), None if b is None else b.double(), stride, pad, dil, groups)
    d = {"x": x, "weight": weight,
         "geom": torch.tensor([cin, cout, k, k, stride, stride, pad, pad, pad, pad, dil, dil, groups]),
         "act": torch.tensor(ACTS.index(act))}
    if b is not None:
        d["bias"] = b
    if bn:
        eps = 1e-6
        g = torch.rand(cout, generator=gen) + 0.5
        be = torch.rand(cout, generator=gen) - 0.5
        mean = torch.rand(cout, generator=gen) - 0.5
        var = torch.rand(cout, generator=gen) + 0.1
        y = F.batch_norm(y, mean.double(), var.double(), g.double(), be.double(), False, 0.0, eps)
        d.update({"bn_weight": g, "bn_bias": be, "bn_mean": mean, "bn_var": var, "bn_eps": torch.tensor(eps)})
    y = act_fn(act, y)
    y = nhwc(y)
    if residual:
        r = torch.rand(y.shape, generator=gen) * 2 - 1
        d["residual"] = r
        y = y + r.double()
    d["y"] = y.float()
    w.save(name, d)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    w = Writer(args.root)

    # Restore-RWKV shapes (spec §5.1), scaled down: patch embed 1->C, Down/Up 3x3 without bias,
    # OmniShift depthwise 5x5 (no bias) with the residual, 1x1 channel reduction, output conv.
    conv_case(w, "conv_embed_1to8_k3", gen, 2, 9, 11, 1, 8, 3)
    conv_case(w, "conv_k3_c12to6_nobias", gen, 1, 10, 12, 12, 6, 3, bias=False)
    conv_case(w, "conv_k3_c16to1_residual", gen, 1, 8, 8, 16, 1, 3, residual=True)
    conv_case(w, "conv_dw5_c20_residual", gen, 2, 12, 13, 20, 20, 5, groups=20, bias=False, residual=True)
    conv_case(w, "conv_k1_c24to12", gen, 2, 5, 7, 24, 12, 1, pad=0)
    # RWKV-UNet shapes (spec §6.1): 1x1 ConvNormAct (relu), depthwise 5x5 stride 2 / 9x9 (silu),
    # stride-2 3x3, grouped and dilated convs, the other activations.
    conv_case(w, "conv_k3_s2_relu", gen, 1, 11, 9, 8, 16, 3, stride=2, act="relu")
    conv_case(w, "conv_dw5_s2_c24_gelu", gen, 1, 13, 10, 24, 24, 5, stride=2, groups=24, act="gelu")
    conv_case(w, "conv_dw9_c16_relu6", gen, 2, 10, 12, 16, 16, 9, groups=16, act="relu6")
    conv_case(w, "conv_dw3_d2_c11_sigmoid", gen, 1, 9, 10, 11, 11, 3, dil=2, groups=11, act="sigmoid")
    conv_case(w, "conv_g2_d2_hardswish", gen, 1, 10, 11, 8, 12, 3, dil=2, groups=2, act="hardswish")
    conv_case(w, "conv_k1_c12to12_silu_residual", gen, 1, 6, 6, 12, 12, 1, pad=0, act="silu", residual=True)
    conv_case(w, "conv_dw5_c13_silu_residual", gen, 1, 7, 9, 13, 13, 5, groups=13, act="silu", residual=True)
    conv_case(w, "conv_bn_k1_c6to10_relu", gen, 2, 7, 5, 6, 10, 1, pad=0, bias=False, act="relu", bn=True)
    conv_case(w, "conv_bn_dw5_c16_silu", gen, 1, 9, 8, 16, 16, 5, groups=16, bias=False, act="silu", bn=True)

    # Pixel (un)shuffle (Restore-RWKV Up / Down).
    for r, (B, H, W_, C) in [(2, (2, 3, 4, 12)), (3, (1, 2, 3, 18))]:
        x = torch.rand(B, H, W_, C, generator=gen)
        w.save(f"pixel_shuffle_r{r}", {"x": x, "r": torch.tensor(r), "y": nhwc(F.pixel_shuffle(nchw(x), r))})
    for r, (B, H, W_, C) in [(2, (2, 6, 8, 3)), (3, (1, 6, 9, 2))]:
        x = torch.rand(B, H, W_, C, generator=gen)
        w.save(f"pixel_unshuffle_r{r}", {"x": x, "r": torch.tensor(r), "y": nhwc(F.pixel_unshuffle(nchw(x), r))})

    # Resizes: nn.Upsample(scale_factor=2, bilinear) (UpBlock), CCM's size-given up / down resizes,
    # align_corners=True, a non-integer scale factor.
    cases = [
        ("up2_scale", (1, 7, 5, 6), None, 2.0, False),
        ("size_up_7to28", (2, 7, 7, 4), (28, 28), None, False),
        ("size_down_28to7", (1, 28, 28, 3), (7, 7), None, False),
        ("size_odd_5x7_to_12x9_ac", (1, 5, 7, 5), (12, 9), None, True),
        ("size_odd_9x6_to_4x13", (1, 9, 6, 3), (4, 13), None, False),
        ("scale_1p7", (1, 6, 5, 2), None, 1.7, False),
        ("to_1x1_ac", (1, 4, 5, 2), (1, 1), None, True),
    ]
    for name, shape, size, scale, ac in cases:
        x = torch.rand(*shape, generator=gen) * 2 - 1
        for mode in ("bilinear", "nearest"):
            if mode == "nearest" and ac:
                continue
            kw = {"align_corners": ac} if mode == "bilinear" else {}
            if size is not None:
                y = F.interpolate(nchw(x), size=size, mode=mode, **kw)
            else:
                y = F.interpolate(nchw(x), scale_factor=scale, mode=mode, **kw)
            y = nhwc(y)
            w.save(f"{mode}_{name}", {
                "x": x, "out_hw": torch.tensor([y.shape[1], y.shape[2]]), "align_corners": torch.tensor(int(ac)),
                "scale": torch.tensor([scale or 0.0, scale or 0.0], dtype=torch.float32), "y": y})

    # Reflect padding (Restore-RWKV pads inputs to a multiple of 8).
    x = torch.rand(2, 6, 7, 3, generator=gen)
    t, b, l, r = 1, 2, 3, 0
    w.save("pad_reflect", {"x": x, "pads": torch.tensor([t, b, l, r]),
                           "y": nhwc(F.pad(nchw(x), (l, r, t, b), mode="reflect"))})

    # SE pieces: x.mean((2, 3)) and x * gate.
    x = torch.rand(2, 5, 6, 7, generator=gen) * 2 - 1
    gate = torch.rand(2, 7, generator=gen)
    xc = nchw(x)
    w.save("se", {"x": x, "gate": gate, "pooled": xc.mean((2, 3)),
                  "y": nhwc(xc * gate[:, :, None, None])})
    print(f"wrote {w.n} files to {w.dir}")


if __name__ == "__main__":
    main()
