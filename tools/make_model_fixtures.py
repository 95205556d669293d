#!/usr/bin/python3
"""Golden fixtures for the C++ parity tests of the VRWKV backbone (deterministic; rerun any time).

Writes
  tests/fixtures/ops/<op>_<case>.pth      flat dict str -> tensor (settings as 0-d tensors)
  tests/fixtures/ops/<op>_<case>.json     module settings (spatial_mix, channel_mix, block only)
  tests/fixtures/models/<name>.pth        state dict with mmcls keys, in various containers
  tests/fixtures/models/<name>.json       our model config JSON
  tests/fixtures/models/<name>.io.pth     input and reference outputs
  tests/fixtures/models/<name>.init.json  det_init description (full-size models, weights not stored)

All references are computed in float64 from the stored float32 values (the O(T) Bi-WKV of
tools/rwkv_ref/bi_wkv.py), then rounded to float32. See tools/README.md.

Usage: /usr/bin/python3 tools/make_model_fixtures.py [--only ops|models|full] [--root REPO]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv_ref.bi_wkv import bi_wkv_recurrent, weight_table  # noqa: E402
from rwkv_ref.det_init import det_tensor, init_spec, load_det_init, param_range  # noqa: E402
from rwkv_ref.vrwkv import (Block, PatchEmbed, VRWKV_ChannelMix, VRWKV_SpatialMix, build_classifier,  # noqa: E402
                            config_from_json, preset_config, q_shift, resize_pos_embed)

import rwkv_ref.vrwkv as _vrwkv  # noqa: E402

F32, F64 = torch.float32, torch.float64
MIN_COND = 0.05
_plain_bi_wkv = _vrwkv.bi_wkv


def conditioning(w, u, k, ts):
    """min over outputs of (signed denominator) / (sum of |weights|): 1 when all weights are
    positive; near 0 when the kernel's signed leak terms nearly cancel (then float32 cannot match)."""
    T, C = k.shape[1], k.shape[2]
    # the table is [C,T,T]: for long sequences check an evenly spaced subset of channels (memory)
    n = max(1, min(C, int(2e7 // (T * T))))
    idx = torch.linspace(0, C - 1, n).round().long().unique()
    w, u, k = w[idx], u[idx], k[..., idx]
    G = weight_table(w.to(F64), T, ts, u.to(F64))
    ek = torch.exp(k.to(F64) - k.to(F64).amax(1, keepdim=True))
    den = torch.einsum("ctj,bjc->btc", G, ek)
    absden = torch.einsum("ctj,bjc->btc", G.abs(), ek)
    return (den / absden).min().item()


def _checked_bi_wkv(w, u, k, v, token_split=32, eps=1e-6, impl="recurrent"):
    c = conditioning(w, u, k, token_split)
    assert c > MIN_COND, f"ill-conditioned Bi-WKV denominator in a fixture (cond {c:.3g})"
    return _plain_bi_wkv(w, u, k, v, token_split, eps, impl)


_vrwkv.bi_wkv = _checked_bi_wkv     # every reference forward below checks its Bi-WKV calls
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
written = []


def gen(seed):
    return torch.Generator().manual_seed(seed)


def uni(g, shape, lo, hi):
    return (lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=F64)).to(F32)


def _fresh(o):
    """Every tensor contiguous, in its own storage, offset 0 (what a plain reader expects)."""
    if isinstance(o, torch.Tensor):
        return o.detach().contiguous().clone()
    if isinstance(o, dict):
        return type(o)((k, _fresh(v)) for k, v in o.items())
    return o


def save_pth(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(_fresh(obj), path)
    written.append(path)


def save_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    written.append(path)


def i64(x):
    return torch.tensor(x, dtype=torch.int64)


def det_fill(module: torch.nn.Module, seed: int, prefix: str = ""):
    """Fill a module with det_init values (ranges by parameter kind, keys as named with prefix)."""
    sd = {}
    for k, t in module.state_dict().items():
        lo, hi = param_range(prefix + k, tuple(t.shape))
        sd[k] = det_tensor(prefix + k, t.shape, lo, hi, seed)
    module.load_state_dict(sd)
    return module


# --------------------------------------------------------------------------- op fixtures

def bi_wkv_cases(out):
    # name, B, T, C, token_split, k range, spatial_decay range, spatial_first range, seed
    cases = [
        ("t1", 2, 1, 8, 32, 2.0, (-3, 3), (-1, 1), 1),
        ("t7", 2, 7, 8, 32, 2.0, (-3, 3), (-1, 1), 2),
        ("t49", 2, 49, 16, 32, 2.0, (-5, 3), (-1, 1), 3),
        ("t196", 1, 196, 16, 32, 3.0, (-5, 3), (-1, 1), 4),
        ("t300_ts16", 1, 300, 8, 16, 3.0, (-5, 5), (-1, 1), 5),
        ("t65_ts64", 2, 65, 8, 64, 2.0, (-5, 3), (-1, 1), 6),
        ("bigk", 2, 49, 8, 32, 120.0, (-5, 3), (-1, 1), 7),
        ("posdecay", 1, 196, 8, 16, 1.0, (10, 20), (-1, 1), 8),
    ]
    for name, B, T, C, ts, kr, dr, fr, seed in cases:
        g = gen(100 + seed)
        k = uni(g, (B, T, C), -kr, kr)
        v = uni(g, (B, T, C), -1, 1)
        decay = uni(g, (C,), *dr)
        first = uni(g, (C,), *fr)
        eps = 1e-6
        w = decay.to(F64) / T
        u = first.to(F64) / T
        y = bi_wkv_recurrent(w, u, k.to(F64), v.to(F64), ts, eps)
        # conditioning: the denominator must not be a near-cancellation of signed weights
        cond = conditioning(w, u, k, ts)
        assert cond > MIN_COND, (name, cond)
        assert torch.isfinite(y).all()
        save_pth(f"{out}/bi_wkv_{name}.pth", {
            "k": k, "v": v, "spatial_decay": decay, "spatial_first": first, "y": y.to(F32),
            "token_split": i64(ts), "eps": torch.tensor(eps, dtype=F32)})


def q_shift_cases(out):
    for name, B, H, W, C in (("c8", 2, 3, 5, 8), ("c10", 1, 4, 3, 10), ("c7", 1, 2, 6, 7)):
        g = gen(200 + C)
        x = uni(g, (B, H * W, C), -1, 1)
        y = q_shift(x.to(F64), (H, W))
        save_pth(f"{out}/q_shift_{name}.pth", {"x": x, "hw": i64([H, W]), "y": y.to(F32)})


def pos_embed_cases(out):
    for src, dst in (((14, 14), (14, 14)), ((14, 14), (24, 32)), ((12, 12), (24, 24)), ((7, 7), (3, 5))):
        g = gen(300 + src[0] * 100 + dst[0] + dst[1])
        C = 8
        pos = uni(g, (1, src[0] * src[1], C), -1, 1)
        o = resize_pos_embed(pos.to(F64), src, dst)
        name = f"{src[0]}x{src[1]}_to_{dst[0]}x{dst[1]}"
        save_pth(f"{out}/pos_embed_resize_{name}.pth",
                 {"pos": pos, "src_hw": i64(list(src)), "dst_hw": i64(list(dst)), "out": o.to(F32)})


def patch_embed_cases(out):
    for name, B, Cin, H, W, p, C in (("p8_37x53", 2, 3, 37, 53, 8, 16), ("p16_50x70", 1, 3, 50, 70, 16, 12),
                                     ("p4_gray_28x30", 1, 1, 28, 30, 4, 8)):
        pe = det_fill(PatchEmbed(Cin, C, p, (H, W)), 400 + p, "patch_embed.")
        g = gen(400 + H)
        x = uni(g, (B, Cin, H, W), -2, 2)
        y, hw = pe.double()(x.to(F64))
        save_pth(f"{out}/patch_embed_{name}.pth", {
            "x": x, "weight": pe.projection.weight.float(), "bias": pe.projection.bias.float(),
            "patch_size": i64(p), "y": y.to(F32), "hw": i64(list(hw))})


def layer_norm_case(out):
    g = gen(500)
    x = uni(g, (2, 5, 16), -3, 3)
    w = uni(g, (16,), 0.8, 1.2)
    b = uni(g, (16,), -0.1, 0.1)
    y = F.layer_norm(x.to(F64), (16,), w.to(F64), b.to(F64), 1e-5)
    save_pth(f"{out}/layer_norm.pth", {"x": x, "weight": w, "bias": b, "eps": torch.tensor(1e-5, dtype=F32),
                                       "y": y.to(F32)})


def module_fixture(out, name, module, prefix, x, hw, settings, seed):
    det_fill(module, seed, prefix)
    sd = {k: v.float().clone() for k, v in module.state_dict().items()}
    y = module.double()(x.to(F64), hw)
    d = dict(sd)
    d.update({"x": x, "hw": i64(list(hw)), "y": y.to(F32)})
    save_pth(f"{out}/{name}.pth", d)
    save_json(f"{out}/{name}.json", settings)


def mix_and_block_cases(out):
    def settings(C, key_norm=False, post_norm=False, init_values=None, layer_id=1, n_layer=3, ts=32, eps=1e-6,
                 hidden_rate=4):
        return {"embed_dims": C, "key_norm": key_norm, "post_norm": post_norm, "init_values": init_values,
                "layer_id": layer_id, "n_layer": n_layer, "token_split": ts, "eps": eps, "hidden_rate": hidden_rate}

    # spatial mix: (case, C, hw, key_norm, token_split)
    for case, C, hw, kn, ts in (("basic", 16, (5, 7), False, 32), ("key_norm", 16, (5, 7), True, 32),
                                ("c20_ts16", 20, (4, 6), False, 16)):
        g = gen(600 + C + ts)
        x = uni(g, (2, hw[0] * hw[1], C), -2, 2)
        m = VRWKV_SpatialMix(C, 3, 1, key_norm=kn, token_split=ts, eps=1e-6)
        module_fixture(out, f"spatial_mix_{case}", m, "layers.1.att.", x, hw,
                       settings(C, key_norm=kn, ts=ts), 600 + C + ts)
    # channel mix: (case, C, hw, key_norm, hidden_rate)
    for case, C, hw, kn, hr in (("basic", 16, (5, 7), False, 4), ("key_norm", 16, (5, 7), True, 4),
                                ("c12_hr2", 12, (3, 4), False, 2)):
        g = gen(700 + C + hr)
        x = uni(g, (2, hw[0] * hw[1], C), -2, 2)
        m = VRWKV_ChannelMix(C, 3, 1, hidden_rate=hr, key_norm=kn)
        module_fixture(out, f"channel_mix_{case}", m, "layers.1.ffn.", x, hw,
                       settings(C, key_norm=kn, hidden_rate=hr), 700 + C + hr)
    # blocks: (case, C, hw, layer_id, post_norm, init_values, key_norm)
    for case, C, hw, lid, pn, iv, kn in (("pre_l0", 16, (5, 7), 0, False, None, False),
                                         ("pre_l1", 16, (5, 7), 1, False, None, False),
                                         ("post_ls_l0", 16, (4, 6), 0, True, 1.0, False),
                                         ("post_ls_l2", 16, (4, 6), 2, True, 1e-5, False),
                                         ("post_ls_key_norm_l1", 24, (3, 5), 1, True, 1e-5, True)):
        g = gen(800 + lid * 10 + C)
        x = uni(g, (2, hw[0] * hw[1], C), -2, 2)
        m = Block(C, 3, lid, 4, iv, pn, kn, 32, 1e-6)
        module_fixture(out, f"block_{case}", m, f"layers.{lid}.", x, hw,
                       settings(C, key_norm=kn, post_norm=pn, init_values=iv, layer_id=lid), 800 + lid * 10 + C)


# --------------------------------------------------------------------------- model fixtures

MMCLS_META = collections.OrderedDict([
    ("mmcv_version", "1.7.0"), ("time", "Thu Jan  1 00:00:00 2024"), ("epoch", 300), ("iter", 1251 * 300),
    ("CLASSES", ["a", "b", "c"]), ("hook_msgs", {"best_score": 0.75, "best_ckpt": "x.pth"}),
    ("config", "model = dict(type='ImageClassifier', backbone=dict(type='VRWKV'))\n"),
    ("env_info", "sys.platform: linux"), ("seed", 0), ("shape", (1, 3, 224, 224)),
])


def run_reference(model, x):
    """Float64 forward with the O(T) Bi-WKV; returns logits and intermediates, float32."""
    m = model.double().eval()
    inter = {}
    with torch.no_grad():
        logits = m(x.to(F64), inter)
    model.float()
    io = {"logits": logits.to(F32), "feat": inter["feat"].to(F32), "embed": inter["embed"].to(F32)}
    for k, v in inter.items():
        if k.startswith("block."):
            io[k] = v.to(F32)
    return io


def tiny_models(out):
    specs = [
        # name, config, input shape, container, half
        ("tiny_pre", {"embed_dims": 16, "depth": 2, "patch_size": 4, "img_size": 16, "num_classes": 5},
         (2, 3, 16, 16), "bare", False),
        ("tiny_post_ls", {"embed_dims": 24, "depth": 3, "patch_size": 4, "img_size": 16, "num_classes": 7,
                          "post_norm": True, "init_values": 1.0}, (2, 3, 16, 16), "mmcv", False),
        ("tiny_key_norm_mlp", {"embed_dims": 32, "depth": 2, "patch_size": 8, "img_size": 32, "num_classes": 6,
                               "post_norm": True, "init_values": 1e-5, "key_norm": True, "head": "mlp",
                               "head_hidden_dims": 48, "token_split": 16}, (1, 3, 32, 32), "model", False),
        ("tiny_odd_size", {"embed_dims": 16, "depth": 2, "patch_size": 8, "img_size": 32, "num_classes": 4},
         (2, 3, 37, 53), "model_ema", False),
        ("tiny_gray_f16", {"embed_dims": 16, "depth": 2, "patch_size": 4, "img_size": 28, "in_channels": 1,
                           "num_classes": 10}, (2, 1, 28, 28), "state_dict", True),
    ]
    for idx, (name, cfg, shape, container, half) in enumerate(specs):
        cfg = config_from_json(cfg)
        model = build_classifier(cfg)
        seed = 1000 + idx
        load_det_init(model, init_spec(model, seed))
        sd = collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
        if half:
            sd = collections.OrderedDict((k, v.half()) for k, v in sd.items())
            model.load_state_dict({k: v.float() for k, v in sd.items()})   # reference uses the f16 values
        if container == "bare":
            obj = sd
        elif container == "mmcv":
            obj = {"meta": MMCLS_META, "state_dict": sd,
                   "optimizer": {"state": {0: {"step": 10, "exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 1e-3}]}}
        elif container == "model":
            obj = {"model": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 5e-4, "weight_decay": 0.05}]},
                   "lr_scheduler": {"last_epoch": 3}, "epoch": 3, "max_accuracy": 0.5}
        elif container == "model_ema":
            obj = {"model_ema": sd, "epoch": 7}
        elif container == "state_dict":
            obj = {"state_dict": sd}
        else:
            raise ValueError(container)
        x = uni(gen(2000 + idx), shape, -2, 2)
        io = run_reference(model, x)
        io["input"] = x
        save_pth(f"{out}/{name}.pth", obj)
        save_json(f"{out}/{name}.json", cfg)
        save_pth(f"{out}/{name}.io.pth", io)
        print(f"{name}: logits {io['logits'].flatten()[:4].tolist()} |max| {io['logits'].abs().max():.3f}")


def full_models(out):
    """Full-size presets with det_init weights; the input is det_init too (key 'input', U[-2, 2])."""
    for name, preset, hw, seed in (("vrwkv_t_det_224", "vrwkv_t", (224, 224), 7),
                                   ("vrwkv_t_det_h384_w512", "vrwkv_t", (384, 512), 7),
                                   ("vrwkv_s_det_224", "vrwkv_s", (224, 224), 11),
                                   ("vrwkv_s_det_h384_w512", "vrwkv_s", (384, 512), 11)):
        cfg = preset_config(preset)
        model = build_classifier(cfg)
        spec = init_spec(model, seed)
        load_det_init(model, spec)
        in_shape = [1, 3, hw[0], hw[1]]
        spec["input"] = {"key": "input", "shape": in_shape, "lo": -2.0, "hi": 2.0}
        x = det_tensor("input", in_shape, -2.0, 2.0, seed)
        io = run_reference(model, x)
        keep = {"logits": io["logits"], "feat": io["feat"]}
        if hw == (224, 224):
            keep["input"] = x           # the 384x512 inputs (2.4 MB each) are only described in .init.json
        save_json(f"{out}/{name}.init.json", spec)
        save_json(f"{out}/{name}.json", cfg)
        save_pth(f"{out}/{name}.io.pth", keep)
        lg = io["logits"]
        last = io[f"block.{cfg['depth'] - 1}"]
        print(f"{name}: logits mean {lg.mean():.3f} std {lg.std():.3f} |max| {lg.abs().max():.3f} "
              f"feat std {io['feat'].std():.3f} last block std {last.std():.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=ROOT)
    ap.add_argument("--only", choices=["ops", "models", "full"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ops = os.path.join(args.root, "tests/fixtures/ops")
    models = os.path.join(args.root, "tests/fixtures/models")
    if args.only in (None, "ops"):
        bi_wkv_cases(ops)
        q_shift_cases(ops)
        pos_embed_cases(ops)
        patch_embed_cases(ops)
        layer_norm_case(ops)
        mix_and_block_cases(ops)
    if args.only in (None, "models"):
        tiny_models(models)
    if args.only in (None, "full"):
        full_models(models)
    total = sum(os.path.getsize(p) for p in written)
    print(f"wrote {len(written)} files, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
