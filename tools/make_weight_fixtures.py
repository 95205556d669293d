#!/usr/bin/python3
"""Writes the small checkpoint fixtures used by tests/weights (a few KB each).

Run with Debian's /usr/bin/python3 (torch 1.13, numpy):
    /usr/bin/python3 tools/make_weight_fixtures.py [out_dir]
Default out_dir: tests/fixtures/weights next to this script's repo root. Output is deterministic
except legacy.pth (the legacy format names storages by memory address).

Files:
  bare.pth, bare_p4.pth    nn.Module state dict (OrderedDict with _metadata), pickle protocol 2 / 4
  mmcls.pth, mmcls_p4.pth  {'meta': {...strings, tuples, numpy scalars/arrays, sets, big ints...},
                           'state_dict': {'backbone.*', 'head.*'}, 'optimizer': {...}}
  internimage.pth          {'model', 'optimizer' (real AdamW state with tensors), 'lr_scheduler',
                           'max_accuracy', 'epoch', 'config' (a yacs CfgNode), 'args' (Namespace), 'amp'}
  ema_both.pth             {'model': A, 'model_ema': B, 'epoch'}; default picks 'model'
  ema_only.pth             {'model_ema': {k: nn.Parameter}} (exercises _rebuild_parameter)
  dtypes.pth               f16 / bf16 special values, f64, i64, i32, i16, i8, u8, bool
  views.pth                transposed, sliced, strided, expanded (stride 0) views of one storage,
                           a 0-d tensor, an empty tensor
  deflated.pth             bare.pth re-zipped with deflate entries (torch.load reads it too)
  legacy.pth               _use_new_zipfile_serialization=False (must be refused)
  malicious.pth            valid zip whose data.pkl calls os.system (hand-built; never run)
  mixed.safetensors        F32/F16/BF16/F64/I64/I32/U8/BOOL tensors + __metadata__, our own writer
  expected.safetensors     for every fixture F and key K: "F/K" = the tensor as float32, contiguous;
                           __metadata__ "dtype:F/K" = stored dtype, "wrapper:F" = unwrapped key.
                           A fixture opened with a wrapper key W is named "F@W".
"""
from __future__ import annotations

import argparse
import collections
import io
import json
import os
import struct
import sys
import types
import zipfile

import numpy as np
import torch

_ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
             torch.uint8: "U8", torch.bool: "BOOL"}


def tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)  # numpy has no bfloat16; the bits are what we store
    return t.numpy().tobytes()  # host order: little-endian on every machine we support


def write_safetensors(path: str, tensors: dict, metadata: dict) -> None:
    """Independent of the C++ writer: tensors in the given order, header padded with spaces."""
    header = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for key, t in tensors.items():
        raw = tensor_bytes(t)
        header[key] = {"dtype": _ST_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def ramp(shape, base=0.0, step=0.25, dtype=torch.float32):
    n = 1
    for d in shape:
        n *= d
    return (base + step * torch.arange(n, dtype=torch.float64)).reshape(shape).to(dtype)


class Tiny(torch.nn.Module):
    def __init__(self, base: float):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.norm = torch.nn.LayerNorm(2)
        self.register_buffer("counter", torch.arange(3, dtype=torch.int64))
        with torch.no_grad():
            for i, p in enumerate(self.parameters()):
                p.copy_(ramp(p.shape, base + i))

    def forward(self, x):
        return self.norm(self.linear(x))


def fake_yacs():
    """A stand-in for yacs.config.CfgNode so the pickle names that global without yacs installed."""
    yacs = types.ModuleType("yacs")
    cfg_mod = types.ModuleType("yacs.config")

    class CfgNode(dict):
        def __init__(self, init=None):
            super().__init__(init or {})
            self.__dict__["__immutable__"] = False

    CfgNode.__module__ = "yacs.config"
    CfgNode.__qualname__ = "CfgNode"
    cfg_mod.CfgNode = CfgNode
    yacs.config = cfg_mod
    sys.modules["yacs"] = yacs
    sys.modules["yacs.config"] = cfg_mod
    return CfgNode


def mmcls_meta():
    return {
        "mmcv_version": "1.7.0",
        "time": "Mon Jan  1 00:00:00 2024",
        "env_info": "sys.platform: linux\nPython: 3.8.0",
        "CLASSES": ("cat", "dog", "bird"),
        "epoch": 300,
        "iter": 375300,
        "seed": 42,
        "lr": 0.001,
        "neg": -123456789012,
        "big": 2 ** 70,
        "none": None,
        "flag": True,
        "nested": {"a": [1, 2, {"b": (3, None)}], "c": {"d": "e"}},
        "blob": b"\x00\x01\x02",
        "tags": {"x", "y"},
        "frozen": frozenset({1}),
        "cplx": complex(1.0, 2.0),
        "hook_msgs": {"best_score": np.float64(80.125), "arr": np.arange(3, dtype=np.int32)},
        "config": "model = dict(type='ImageClassifier', backbone=dict(type='VRWKV'))\n",
    }


def mmcls_state_dict():
    return collections.OrderedDict([
        ("backbone.patch_embed.projection.weight", ramp([4, 3, 2, 2], -1.0)),
        ("backbone.patch_embed.projection.bias", ramp([4], 0.5)),
        ("backbone.layers.0.att.spatial_decay", ramp([4], -2.0, 0.5)),
        ("head.fc.weight", ramp([3, 4], 1.0, -0.125)),
        ("head.fc.bias", ramp([3], 0.0, 1.0)),
    ])


def internimage_checkpoint():
    CfgNode = fake_yacs()
    model = Tiny(10.0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()  # fills exp_avg / exp_avg_sq: tensors that must be skipped, not read
    with torch.no_grad():  # back to known values for the test
        for i, p in enumerate(model.parameters()):
            p.copy_(ramp(p.shape, 10.0 + i))
    config = CfgNode({"MODEL": CfgNode({"TYPE": "vrwkv", "DROP_PATH_RATE": 0.1}), "DATA": CfgNode({"IMG_SIZE": 224}),
                      "TAGS": ["a", "b"]})
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "lr_scheduler": {"t_initial": 300, "base_values": [0.001, 0.001]},
        "max_accuracy": 81.25,
        "epoch": 3,
        "config": config,
        "args": argparse.Namespace(cfg="configs/vrwkv_l.yaml", batch_size=128),
        "amp": {"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 7},
    }


def dtypes_dict():
    f16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08,
                        2.0 ** -20, float("inf"), float("-inf"), float("nan"), 0.333], dtype=torch.float16)
    bf16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.0e38, 1.0e-40, float("inf"), float("-inf"), float("nan"), 0.333],
                        dtype=torch.bfloat16)
    return collections.OrderedDict([
        ("f16", f16),
        ("f16_2d", ramp([2, 3], -1.0, 0.5, torch.float16)),
        ("bf16", bf16),
        ("f64", torch.tensor([0.1, -1e300, 1e-50, 3.0000000000000004, 16777217.0], dtype=torch.float64)),
        ("i64", torch.tensor([-(2 ** 40), -1, 0, 16777217, 2 ** 62], dtype=torch.int64)),
        ("i32", torch.tensor([-2 ** 31, -7, 0, 2 ** 31 - 1], dtype=torch.int32)),
        ("i16", torch.tensor([-32768, -1, 32767], dtype=torch.int16)),
        ("i8", torch.tensor([-128, -1, 0, 127], dtype=torch.int8)),
        ("u8", torch.tensor([0, 1, 128, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
    ])


def views_dict():
    base = ramp([3, 4], 0.0, 0.5)
    half = ramp([2, 3], 1.0, 0.25, torch.float16)
    return collections.OrderedDict([
        ("base", base),
        ("t", base.t()),                   # non-contiguous, same storage
        ("row", base[1]),                  # offset 4, contiguous
        ("col", base[:, 2]),               # offset 2, stride 4
        ("block", base[0:2, 1:3]),         # offset 1, strides (4, 1)
        ("every_other", base[:, ::2]),     # strides (4, 2)
        ("expanded", torch.arange(4.0).expand(3, 4)),  # stride 0
        ("half_t", half.t()),
        ("scalar", torch.tensor(3.5)),     # 0-d
        ("empty", torch.zeros(0, 4)),      # no elements
        ("unit_dims", ramp([1, 3, 1], 7.0)),
    ])


def malicious_zip(path):
    # PROTO 2; GLOBAL 'os system'; BINUNICODE 'echo pwned'; TUPLE1; REDUCE; STOP. Never unpickled here.
    cmd = b"echo pwned"
    pkl = b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"q\x01\x85q\x02Rq\x03."
    write_zip(path, [("malicious/data.pkl", pkl), ("malicious/version", b"3\n")], zipfile.ZIP_STORED)


def write_zip(path, entries, compression):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)


def flatten_expected(expected, metadata, fixture, sd, wrapper):
    metadata["wrapper:" + fixture] = wrapper
    for k, v in sd.items():
        if isinstance(v, torch.Tensor):
            expected[fixture + "/" + k] = v.detach().float().contiguous()
            metadata["dtype:" + fixture + "/" + k] = _ST_DTYPE[v.dtype]


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":  # set iteration order must not vary between runs
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fixtures", "weights")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    expected, metadata = {}, {}

    def save(name, obj, protocol=2, sd=None, wrapper=""):
        path = os.path.join(out, name)
        torch.save(obj, path, pickle_protocol=protocol)
        torch.load(path)  # sanity: torch reads what it wrote
        flatten_expected(expected, metadata, name, sd if sd is not None else obj, wrapper)

    bare = Tiny(0.0).state_dict()
    save("bare.pth", bare)
    save("bare_p4.pth", bare, protocol=4)

    sd = mmcls_state_dict()
    mm = {"meta": mmcls_meta(), "state_dict": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}}
    save("mmcls.pth", mm, sd=sd, wrapper="state_dict")
    save("mmcls_p4.pth", mm, protocol=4, sd=sd, wrapper="state_dict")

    ii = internimage_checkpoint()
    save("internimage.pth", ii, sd=ii["model"], wrapper="model")

    a, b = Tiny(20.0).state_dict(), Tiny(30.0).state_dict()
    save("ema_both.pth", {"model": a, "model_ema": b, "epoch": 1}, sd=a, wrapper="model")
    flatten_expected(expected, metadata, "ema_both.pth@model_ema", b, "model_ema")
    ema = collections.OrderedDict((k, torch.nn.Parameter(v.float(), requires_grad=(i % 2 == 0)))
                                  for i, (k, v) in enumerate(Tiny(40.0).state_dict().items()))
    save("ema_only.pth", {"model_ema": ema, "epoch": 1}, sd=ema, wrapper="model_ema")

    save("dtypes.pth", dtypes_dict())
    save("views.pth", views_dict())

    # deflated.pth: the same records as bare.pth, re-zipped with deflate.
    with zipfile.ZipFile(os.path.join(out, "bare.pth")) as z:
        records = [(n.replace("bare/", "deflated/", 1), z.read(n)) for n in z.namelist()]
    write_zip(os.path.join(out, "deflated.pth"), records, zipfile.ZIP_DEFLATED)
    assert all(k in torch.load(os.path.join(out, "deflated.pth")) for k in bare)
    flatten_expected(expected, metadata, "deflated.pth", bare, "")

    torch.save(Tiny(0.0).state_dict(), os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    malicious_zip(os.path.join(out, "malicious.pth"))

    mixed = collections.OrderedDict([
        ("w.f32", ramp([2, 3], -0.5)), ("w.f16", ramp([4], 0.125, 0.5, torch.float16)),
        ("w.bf16", ramp([2, 2], 1.0, 0.5, torch.bfloat16)), ("w.f64", ramp([3], 0.1, 0.1, torch.float64)),
        ("ids", torch.tensor([1, -2, 3], dtype=torch.int64)), ("i32", torch.tensor([-5, 5], dtype=torch.int32)),
        ("mask_u8", torch.tensor([0, 255], dtype=torch.uint8)), ("flags", torch.tensor([True, False])),
        ("scalar", torch.tensor(2.5)), ("empty", torch.zeros(0, 3)),
    ])
    write_safetensors(os.path.join(out, "mixed.safetensors"), mixed, {"format": "pt", "model": "tiny"})
    flatten_expected(expected, metadata, "mixed.safetensors", mixed, "")

    write_safetensors(os.path.join(out, "expected.safetensors"), expected, metadata)
    for name in sorted(os.listdir(out)):
        print(f"{os.path.getsize(os.path.join(out, name)):7d}  {name}")


if __name__ == "__main__":
    main()
