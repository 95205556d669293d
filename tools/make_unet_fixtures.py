"""Golden fixtures for the C++ RWKV-UNet (tests/heads/test_rwkv_unet.cpp).

    /usr/bin/python3 tools/make_unet_fixtures.py [--only det|bundled]

Writes tests/fixtures/unet/:
  <name>.init.json  det_init description of every parameter (tools/rwkv_ref/det_init.py generator,
                    ranges by parameter kind below) and of the input ("input" entry); weights are
                    not stored
  <name>.json       the model config (tools/rwkv_ref/rwkv_unet.py config_json_text)
  <name>.io.pth     logits [B, K, H, W] and enc4 (NHWC, stride 16: encoder vs decoder)
for rwkv_unet_t_det_224 (T, 224x224, 2 classes, 3-channel input as upstream T) and
rwkv_unet_t_det_h128_w192 (the same model, non-square), plus rwkv_unet_s_det_h64_w96 (S with its
grey->RGB repeat, small). References are computed in float64 (model.double(), the O(T) float64
Bi-WKV) from the float32 parameter values and rounded to float32.

bundled_sample.io.pth: the bundled data/models/brainmask_t1.safetensors on one axial slice of
the test subject (preprocessed as tools/brainmask_data.py does): "input" [1, 1, 64, 64], "logits".
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from rwkv_ref.det_init import det_tensor, param_range  # noqa: E402
from rwkv_ref.rwkv_unet import build_unet, config_json_text, preset_config  # noqa: E402


def unet_range(key: str, shape):
    """(lo, hi) per parameter kind: activations stay O(1) through ~20 blocks, every term visible."""
    name = key.split(".")[-1]
    parent = key.split(".")[-2]
    if len(shape) == 4:                       # conv weights [out, in/groups, kh, kw]
        fan_in = int(np.prod(shape[1:]))
        a = np.sqrt(3.0 / fan_in)
        if key == "final_conv.weight":        # logits O(1): a 1e-4 tolerance is then ~1e-4 relative
            a *= 20.0
        return (-a, a)
    if name == "running_mean":
        return (-0.2, 0.2)
    if name == "running_var":
        return (0.5, 1.5)
    if name == "num_batches_tracked":
        return (0.0, 0.0)
    if parent == "norm" and name == "weight":   # BatchNorm / LayerNorm2d affine
        return (0.8, 1.2)
    if parent == "norm" and name == "bias":
        return (-0.1, 0.1)
    if name == "bias" and parent in ("conv_reduce", "conv_expand", "final_conv") or \
            (name == "bias" and parent.isdigit()):   # plain conv biases (SE, CCM projections, classifier)
        return (-0.1, 0.1)
    if key.startswith("encoder.head."):
        return (-0.05, 0.05)
    return param_range(key, tuple(shape))


def init_spec(model, seed):
    params = []
    for key, t in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        lo, hi = unet_range(key, tuple(t.shape))
        params.append({"key": key, "shape": list(t.shape), "lo": float(lo), "hi": float(hi)})
    return {"seed": int(seed), "params": params}


def load_spec(model, spec):
    sd = model.state_dict()
    for p in spec["params"]:
        sd[p["key"]] = det_tensor(p["key"], p["shape"], p["lo"], p["hi"], spec["seed"])
    model.load_state_dict(sd, strict=True)


def save_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous().float()


def det_fixtures(out):
    cases = (("rwkv_unet_t_det_224", "rwkv_unet_t", (224, 224), 21),
             ("rwkv_unet_t_det_h128_w192", "rwkv_unet_t", (128, 192), 21),
             ("rwkv_unet_s_det_h64_w96", "rwkv_unet_s", (64, 96), 23))
    for name, preset, hw, seed in cases:
        cfg = preset_config(preset, num_classes=2, img_size=hw[0])
        model = build_unet(cfg, wkv_impl="recurrent").eval()
        spec = init_spec(model, seed)
        load_spec(model, spec)
        in_shape = [1, cfg["in_channels"], hw[0], hw[1]]
        spec["input"] = {"key": "input", "shape": in_shape, "lo": -2.0, "hi": 2.0}
        x = det_tensor("input", in_shape, -2.0, 2.0, seed)
        inter = {}
        with torch.no_grad():
            logits = model.double()(x.double(), inter).float()
        keep = {"logits": logits}
        keep["enc4"] = nhwc(inter["enc4"])  # small; localises a mismatch to encoder or decoder
        save_json(f"{out}/{name}.init.json", spec)
        with open(f"{out}/{name}.json", "w") as f:
            f.write(config_json_text(cfg) + "\n")
        torch.save(keep, f"{out}/{name}.io.pth")
        print(f"{name}: logits mean {logits.mean():.3f} std {logits.std():.3f} |max| {logits.abs().max():.3f} "
              f"enc4 std {inter['enc4'].std():.3f}")


def bundled_fixture(out):
    import brainmask_data as bd
    from rwkv_ref.safetensors_io import load_safetensors
    tensors, meta = load_safetensors(os.path.join(ROOT, "data/models/brainmask_t1.safetensors"))
    model = build_unet(json.loads(meta["config"]), wkv_impl="recurrent").eval()
    model.load_state_dict(tensors, strict=False)
    vol, _, _ = bd.test_volume()
    sl = vol.take(vol.shape[2] // 2, axis=2)
    x = torch.from_numpy(bd.resize2d(sl, bd.INPUT))[None, None]
    with torch.no_grad():
        logits = model.double()(x.double()).float()
    torch.save({"input": x, "logits": logits}, f"{out}/bundled_sample.io.pth")
    print(f"bundled_sample: logits |max| {logits.abs().max():.3f} brain fraction {(logits.argmax(1) == 1).float().mean():.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["det", "bundled"])
    args = ap.parse_args()
    out = os.path.join(ROOT, "tests/fixtures/unet")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    if args.only in (None, "det"):
        det_fixtures(out)
    if args.only in (None, "bundled"):
        bundled_fixture(out)


if __name__ == "__main__":
    main()
