"""Deterministic parameters, bit-identical with tests/support/det_init.cpp.

    seed(key) = fnv1a64(utf-8 bytes of key) XOR global_seed
    x_i       = splitmix64(seed + i)              (uint64, wrap-around)
    u_i       = (x_i >> 11) * 2^-53               exact in float64
    value_i   = float32(lo + (hi - lo) * u_i)     computed in float64, rounded to nearest

Full-size models are checked without committing their weights: a fixture stores, per parameter,
(key, shape, lo, hi) and the global seed; both sides regenerate the same tensors.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Tuple

import numpy as np
import torch

_M64 = (1 << 64) - 1


def fnv1a64(s: str) -> int:
    h = 0xCBF29CE484222325
    for c in s.encode("utf-8"):
        h ^= c
        h = (h * 0x100000001B3) & _M64
    return h


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Vectorised splitmix64 over a uint64 array (wrap-around arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        z = x
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def det_array(key: str, shape: Iterable[int], lo: float, hi: float, global_seed: int) -> np.ndarray:
    shape = tuple(int(s) for s in shape)
    n = int(np.prod(shape)) if shape else 1
    seed = np.uint64(fnv1a64(key) ^ (int(global_seed) & _M64))
    with np.errstate(over="ignore"):
        x = splitmix64(seed + np.arange(n, dtype=np.uint64))
    u = (x >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    vals = (float(lo) + (float(hi) - float(lo)) * u).astype(np.float32)
    return vals.reshape(shape)


def det_tensor(key: str, shape, lo: float, hi: float, global_seed: int) -> torch.Tensor:
    return torch.from_numpy(det_array(key, shape, lo, hi, global_seed))


# --------------------------------------------------------------------------- ranges

def param_range(key: str, shape: Tuple[int, ...]) -> Tuple[float, float]:
    """A (lo, hi) for a parameter, by kind, chosen so a 12-24 layer model stays well conditioned
    (final features O(1), logits O(1)) while every parameter is visible in the output: a wrong
    scale or a missing term changes the logits clearly (well above 1e-4).

    The Bi-WKV ones are wider than a plain 1/sqrt(fan_in) init on purpose: with k = O(1) the
    Bi-WKV output is a near-uniform average and hides bugs. att.key ±2.5/sqrt(C) makes the
    weights peaky; spatial_decay in [-10, 15] and spatial_first in [-20, 60] (both divided by T)
    make locality and the bonus matter, while every Bi-WKV denominator stays a sum of positive
    weights (checked by tools/make_model_fixtures.py). At these settings, switching TOKEN_SPLIT
    32 -> 16 moves vrwkv_t/vrwkv_s logits by ~1e-3 / ~1e-1.
    """
    name = key.split(".")[-1]
    parent = key.split(".")[-2] if "." in key else ""
    if key.endswith("pos_embed"):
        return (-0.5, 0.5)
    if key.endswith("patch_embed.projection.weight"):
        fan_in = int(np.prod(shape[1:]))
        a = 1.0 / np.sqrt(fan_in)
        return (-a, a)
    if key.endswith("patch_embed.projection.bias"):
        return (-0.1, 0.1)
    if name == "spatial_decay":
        return (-10.0, 15.0)
    if name == "spatial_first":
        return (-20.0, 60.0)
    if key.endswith("att.key.weight"):
        a = 2.5 / np.sqrt(shape[1])
        return (-a, a)
    if key.endswith("head.fc.weight"):
        a = 4.0 / np.sqrt(shape[1])
        return (-a, a)
    if name.startswith("spatial_mix_"):
        return (0.0, 1.0)
    if name in ("gamma1", "gamma2"):
        return (0.5, 1.5)
    # LayerNorms: ln0, ln1, ln2, key_norm, final ln1
    if re.fullmatch(r"ln\d|key_norm", parent):
        return (0.8, 1.2) if name == "weight" else (-0.1, 0.1)
    if name == "weight" and len(shape) == 2:      # Linear [out, in]
        a = 1.0 / np.sqrt(shape[1])
        return (-a, a)
    if name == "bias" and len(shape) == 1:        # head biases
        return (-0.1, 0.1)
    raise KeyError(f"no det_init range for {key} {tuple(shape)}")


def init_spec(model: torch.nn.Module, seed: int) -> Dict:
    """{"seed", "params": [{"key", "shape", "lo", "hi"}, ...]} for every state-dict entry."""
    params: List[Dict] = []
    for key, t in model.state_dict().items():
        lo, hi = param_range(key, tuple(t.shape))
        params.append({"key": key, "shape": list(t.shape), "lo": float(lo), "hi": float(hi)})
    return {"seed": int(seed), "params": params}


def load_det_init(model: torch.nn.Module, spec: Dict) -> None:
    """Fill ``model`` with the tensors described by ``spec`` (strict: every key, exact shapes)."""
    sd = {}
    for p in spec["params"]:
        sd[p["key"]] = det_tensor(p["key"], p["shape"], p["lo"], p["hi"], spec["seed"])
    model.load_state_dict(sd, strict=True)
