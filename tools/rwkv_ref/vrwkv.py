"""VRWKV (RWKV-4-style bidirectional) classifier in plain PyTorch, no mmcv/mmcls needed.

Follows spec/vrwkv.md §2 and the official OpenGVLab/Vision-RWKV
``classification/mmcls_custom/models/backbones/vrwkv.py``. Attribute names are chosen so that
``state_dict()`` keys are identical to the mmcls checkpoints:

    backbone.patch_embed.projection.{weight,bias}   backbone.pos_embed
    backbone.layers.{i}.{ln0 (i=0 only), ln1, ln2, gamma1, gamma2 (layer scale only)}
    backbone.layers.{i}.att.{spatial_decay, spatial_first, spatial_mix_k/v/r,
                             key, value, receptance, output, key_norm (optional)}
    backbone.layers.{i}.ffn.{spatial_mix_k/r, key, receptance, value, key_norm (optional)}
    backbone.ln1                                    head.fc.{weight,bias}  or  head.0 / head.2 (MLP head)

The Bi-WKV is ours (tools/rwkv_ref/bi_wkv.py): ``wkv_impl='recurrent'`` (O(T), float64 inside; for
fixtures), ``'matrix'`` (O(T^2), differentiable; for training) or ``'scan'`` / ``'scan_fast'``
(vectorised O(T), float32; for timing and large inputs). All compute the same function.
"""
from __future__ import annotations

import copy
import json
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bi_wkv import bi_wkv

# --------------------------------------------------------------------------- helpers


def _pair(x) -> Tuple[int, int]:
    if isinstance(x, (list, tuple)):
        if len(x) != 2:
            raise ValueError(f"expected an int or a pair, got {x!r}")
        return int(x[0]), int(x[1])
    return int(x), int(x)


def q_shift(x: torch.Tensor, hw: Tuple[int, int], shift_pixel: int = 1, gamma: float = 0.25) -> torch.Tensor:
    """Q-Shift (spec §2.4). x [B, T, C] with T = H*W row-major -> [B, T, C].

    Channel groups use the boundaries int(C*gamma*k), k = 1..4: group 0 reads the left neighbour,
    1 the right, 2 the upper, 3 the lower; reads outside the grid are zero; the rest is identity.
    """
    B, T, C = x.shape
    H, W = hw
    if H * W != T:
        raise ValueError(f"q_shift: grid {H}x{W} does not match T={T}")
    s = shift_pixel
    b = [int(C * gamma * i) for i in range(5)]
    g = x.view(B, H, W, C)                       # channels-last grid, token n = h*W + w
    p = F.pad(g, [0, 0, s, s, s, s])             # zero border of s on both sides of H and W
    parts = [
        p[:, s:s + H, 0:W, b[0]:b[1]],           # value of the left neighbour (w - s)
        p[:, s:s + H, 2 * s:2 * s + W, b[1]:b[2]],   # right neighbour (w + s)
        p[:, 0:H, s:s + W, b[2]:b[3]],           # upper neighbour (h - s)
        p[:, 2 * s:2 * s + H, s:s + W, b[3]:b[4]],   # lower neighbour (h + s)
        g[..., b[4]:],                           # identity (empty for gamma = 1/4)
    ]
    return torch.cat(parts, dim=-1).reshape(B, T, C)


def resize_pos_embed(pos: torch.Tensor, src_hw, dst_hw, mode: str = "bicubic") -> torch.Tensor:
    """mmcls resize_pos_embed with no extra tokens: [1, Hs*Ws, C] -> [1, Hd*Wd, C]."""
    src_hw, dst_hw = _pair(src_hw), _pair(dst_hw)
    if src_hw == dst_hw:
        return pos
    _, L, C = pos.shape
    if L != src_hw[0] * src_hw[1]:
        raise ValueError(f"pos_embed has {L} tokens, not {src_hw[0]}x{src_hw[1]}")
    grid = pos.reshape(1, src_hw[0], src_hw[1], C).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=dst_hw, mode=mode, align_corners=False)
    return grid.flatten(2).transpose(1, 2)


# --------------------------------------------------------------------------- modules


class PatchEmbed(nn.Module):
    """mmcv PatchEmbed(conv_type='Conv2d', kernel=stride=patch, padding='corner', bias=True)."""

    def __init__(self, in_channels=3, embed_dims=768, patch_size=16, input_size=224):
        super().__init__()
        self.patch_size = _pair(patch_size)
        self.projection = nn.Conv2d(in_channels, embed_dims, kernel_size=self.patch_size,
                                    stride=self.patch_size, bias=True)
        ih, iw = _pair(input_size)
        self.init_out_size = (math.ceil(ih / self.patch_size[0]), math.ceil(iw / self.patch_size[1]))

    def forward(self, x):
        H, W = x.shape[-2:]
        ph, pw = self.patch_size
        pad_h = math.ceil(H / ph) * ph - H
        pad_w = math.ceil(W / pw) * pw - W
        if pad_h or pad_w:      # 'corner': zeros at the bottom and right only
            x = F.pad(x, [0, pad_w, 0, pad_h])
        x = self.projection(x)
        hw = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), hw


class VRWKV_SpatialMix(nn.Module):
    def __init__(self, n_embd, n_layer, layer_id, key_norm=False, token_split=32, eps=1e-6,
                 wkv_impl="recurrent"):
        super().__init__()
        self.n_embd, self.n_layer, self.layer_id = n_embd, n_layer, layer_id
        self.token_split, self.eps, self.wkv_impl = token_split, eps, wkv_impl
        self.spatial_decay = nn.Parameter(torch.zeros(n_embd))
        self.spatial_first = nn.Parameter(torch.zeros(n_embd))
        self.spatial_mix_k = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.spatial_mix_v = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.spatial_mix_r = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.key = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(n_embd, n_embd, bias=False)
        self.receptance = nn.Linear(n_embd, n_embd, bias=False)
        self.key_norm = nn.LayerNorm(n_embd) if key_norm else None
        self.output = nn.Linear(n_embd, n_embd, bias=False)
        self.fancy_init()

    @torch.no_grad()
    def fancy_init(self):
        """Start values of the official 'fancy' init: decay spread over [-5, 3] per channel,
        a zig-zag bonus around log(0.3), mixes growing with the channel index."""
        C, L, i = self.n_embd, self.n_layer, self.layer_id
        depth_frac = i / max(L - 1, 1)
        shallow = 1.0 - i / L
        ch = torch.arange(C, dtype=torch.float32)
        self.spatial_decay.copy_(-5 + 8 * (ch / max(C - 1, 1)) ** (0.7 + 1.3 * depth_frac))
        zig = ((ch.long() + 1) % 3 - 1).float() * 0.5
        self.spatial_first.copy_(math.log(0.3) + zig)
        frac = (ch / C).view(1, 1, C)
        self.spatial_mix_k.copy_(frac ** shallow)
        self.spatial_mix_v.copy_(frac ** shallow + 0.3 * depth_frac)
        self.spatial_mix_r.copy_(frac ** (0.5 * shallow))

    def forward(self, x, hw):
        B, T, C = x.shape
        xx = q_shift(x, hw)
        # x * mix + xx * (1 - mix), written as one lerp
        xk = torch.lerp(xx, x, self.spatial_mix_k)
        xv = torch.lerp(xx, x, self.spatial_mix_v)
        xr = torch.lerp(xx, x, self.spatial_mix_r)
        k = self.key(xk)
        v = self.value(xv)
        sr = torch.sigmoid(self.receptance(xr))
        a = bi_wkv(self.spatial_decay / T, self.spatial_first / T, k, v, self.token_split, self.eps,
                   impl=self.wkv_impl)
        if self.key_norm is not None:
            a = self.key_norm(a)
        return self.output(sr * a)


class VRWKV_ChannelMix(nn.Module):
    def __init__(self, n_embd, n_layer, layer_id, hidden_rate=4, key_norm=False):
        super().__init__()
        self.n_embd, self.n_layer, self.layer_id = n_embd, n_layer, layer_id
        hidden = int(hidden_rate * n_embd)
        self.spatial_mix_k = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.spatial_mix_r = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.key = nn.Linear(n_embd, hidden, bias=False)
        self.key_norm = nn.LayerNorm(hidden) if key_norm else None
        self.receptance = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(hidden, n_embd, bias=False)
        self.fancy_init()

    @torch.no_grad()
    def fancy_init(self):
        C = self.n_embd
        shallow = 1.0 - self.layer_id / self.n_layer
        frac = (torch.arange(C, dtype=torch.float32) / C).view(1, 1, C)
        self.spatial_mix_k.copy_(frac ** shallow)
        self.spatial_mix_r.copy_(frac ** shallow)

    def forward(self, x, hw):
        xx = q_shift(x, hw)
        xk = torch.lerp(xx, x, self.spatial_mix_k)
        xr = torch.lerp(xx, x, self.spatial_mix_r)
        h = torch.square(torch.relu(self.key(xk)))
        if self.key_norm is not None:
            h = self.key_norm(h)
        return torch.sigmoid(self.receptance(xr)) * self.value(h)


class DropPath(nn.Module):
    """Stochastic depth (training only; identity at inference)."""

    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape[0], 1, 1, dtype=x.dtype, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


class Block(nn.Module):
    def __init__(self, n_embd, n_layer, layer_id, hidden_rate=4, init_values=None, post_norm=False,
                 key_norm=False, token_split=32, eps=1e-6, wkv_impl="recurrent", drop_path=0.0):
        super().__init__()
        self.layer_id = layer_id
        self.post_norm = post_norm
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        if layer_id == 0:
            self.ln0 = nn.LayerNorm(n_embd)
        self.att = VRWKV_SpatialMix(n_embd, n_layer, layer_id, key_norm, token_split, eps, wkv_impl)
        self.ffn = VRWKV_ChannelMix(n_embd, n_layer, layer_id, hidden_rate, key_norm)
        self.layer_scale = init_values is not None
        if self.layer_scale:
            self.gamma1 = nn.Parameter(torch.full((n_embd,), float(init_values)))
            self.gamma2 = nn.Parameter(torch.full((n_embd,), float(init_values)))
        self.drop_path = DropPath(drop_path)

    def forward(self, x, hw):
        if self.layer_id == 0:
            x = self.ln0(x)
        g1 = self.gamma1 if self.layer_scale else 1.0
        g2 = self.gamma2 if self.layer_scale else 1.0
        if self.post_norm:
            x = x + self.drop_path(g1 * self.ln1(self.att(x, hw)))
            x = x + self.drop_path(g2 * self.ln2(self.ffn(x, hw)))
        else:
            x = x + self.drop_path(g1 * self.att(self.ln1(x), hw))
            x = x + self.drop_path(g2 * self.ffn(self.ln2(x), hw))
        return x


class VRWKV(nn.Module):
    """Backbone: patch embed -> + pos embed (resized if needed) -> blocks -> final LN ``ln1``.

    ``forward`` returns the final tokens [B, T, C] and the grid (Hp, Wp)."""

    def __init__(self, img_size=224, patch_size=16, in_channels=3, embed_dims=192, depth=12,
                 hidden_rate=4, post_norm=False, init_values=None, key_norm=False, token_split=32,
                 eps=1e-6, wkv_impl="recurrent", drop_path_rate=0.0, final_norm=True):
        super().__init__()
        self.embed_dims = embed_dims
        self.num_layers = depth
        self.patch_embed = PatchEmbed(in_channels, embed_dims, patch_size, img_size)
        self.patch_resolution = self.patch_embed.init_out_size
        n = self.patch_resolution[0] * self.patch_resolution[1]
        self.pos_embed = nn.Parameter(torch.zeros(1, n, embed_dims))
        dpr = [float(p) for p in torch.linspace(0, drop_path_rate, depth)] if depth > 0 else []
        self.layers = nn.ModuleList([
            Block(embed_dims, depth, i, hidden_rate, init_values, post_norm, key_norm, token_split,
                  eps, wkv_impl, dpr[i]) for i in range(depth)])
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = nn.LayerNorm(embed_dims)

    def set_wkv_impl(self, impl: str):
        for layer in self.layers:
            layer.att.wkv_impl = impl

    def forward(self, x, intermediates: Optional[Dict[str, torch.Tensor]] = None):
        x, hw = self.patch_embed(x)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, hw).to(x.dtype)
        if intermediates is not None:
            intermediates["embed"] = x
        for i, layer in enumerate(self.layers):
            x = layer(x, hw)
            if intermediates is not None:
                intermediates[f"block.{i}"] = x
        if self.final_norm:
            x = self.ln1(x)
        return x, hw


class MlpHead(nn.Sequential):
    """VRWKV-L head: Linear(C, hidden) -> Tanh -> Linear(hidden, classes); keys head.0, head.2."""

    def __init__(self, in_dims, hidden_dims, num_classes):
        super().__init__(nn.Linear(in_dims, hidden_dims), nn.Tanh(), nn.Linear(hidden_dims, num_classes))


class LinearClsHead(nn.Module):
    def __init__(self, in_dims, num_classes):
        super().__init__()
        self.fc = nn.Linear(in_dims, num_classes)

    def forward(self, x):
        return self.fc(x)


class ImageClassifier(nn.Module):
    """backbone -> GAP over tokens (mmcls GlobalAveragePooling, no parameters) -> head."""

    def __init__(self, backbone: VRWKV, num_classes=1000, head="linear", head_hidden_dims=None):
        super().__init__()
        self.backbone = backbone
        C = backbone.embed_dims
        if head == "linear":
            self.head = LinearClsHead(C, num_classes)
        elif head == "mlp":
            self.head = MlpHead(C, int(head_hidden_dims), num_classes)
        else:
            raise ValueError(f"unknown head {head!r} (use 'linear' or 'mlp')")

    def forward(self, x, intermediates: Optional[Dict[str, torch.Tensor]] = None):
        tok, hw = self.backbone(x, intermediates)
        feat = tok.mean(dim=1)
        if intermediates is not None:
            intermediates["feat"] = feat
        return self.head(feat)


# --------------------------------------------------------------------------- configs

CONFIG_DEFAULTS = {
    "in_channels": 3,
    "num_classes": 1000,
    "hidden_rate": 4,
    "post_norm": False,
    "init_values": None,
    "key_norm": False,
    "img_size": 224,
    "patch_size": 16,
    "token_split": 32,
    "eps": 1e-6,
    "head": "linear",
    "head_hidden_dims": None,
}

PRESETS = {
    "vrwkv_t": {"embed_dims": 192, "depth": 12},
    "vrwkv_s": {"embed_dims": 384, "depth": 12, "post_norm": True, "init_values": 1.0},
    "vrwkv_b": {"embed_dims": 768, "depth": 12, "post_norm": True, "init_values": 1e-5},
    "vrwkv_l": {"embed_dims": 1024, "depth": 24, "post_norm": True, "init_values": 1e-5,
                "key_norm": True, "img_size": 192, "head": "mlp", "head_hidden_dims": 3072},
}


def config_from_json(cfg: Union[dict, str]) -> dict:
    """Our JSON model config -> a complete config dict (defaults filled in, checked).

    Required: embed_dims, depth. Optional (defaults in CONFIG_DEFAULTS): hidden_rate, post_norm,
    init_values (null = no layer scale), key_norm, img_size (int or [H, W]), patch_size,
    in_channels, num_classes, token_split, eps, head ("linear" | "mlp"), head_hidden_dims.
    """
    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    out = dict(CONFIG_DEFAULTS)
    unknown = set(cfg) - set(CONFIG_DEFAULTS) - {"embed_dims", "depth", "name", "arch"}
    if unknown:
        raise ValueError(f"unknown config fields: {sorted(unknown)}")
    out.update(cfg)
    for req in ("embed_dims", "depth"):
        if req not in out:
            raise ValueError(f"config needs {req!r}")
    if out["head"] == "mlp" and not out["head_hidden_dims"]:
        raise ValueError("head 'mlp' needs head_hidden_dims")
    return out


def preset_config(name: str, **overrides) -> dict:
    cfg = dict(PRESETS[name])
    cfg.update(overrides)
    return config_from_json(cfg)


def build_classifier(cfg: dict, wkv_impl: str = "recurrent", drop_path_rate: float = 0.0) -> ImageClassifier:
    cfg = config_from_json(cfg)
    backbone = VRWKV(img_size=cfg["img_size"], patch_size=cfg["patch_size"], in_channels=cfg["in_channels"],
                     embed_dims=cfg["embed_dims"], depth=cfg["depth"], hidden_rate=cfg["hidden_rate"],
                     post_norm=cfg["post_norm"], init_values=cfg["init_values"], key_norm=cfg["key_norm"],
                     token_split=cfg["token_split"], eps=cfg["eps"], wkv_impl=wkv_impl,
                     drop_path_rate=drop_path_rate)
    return ImageClassifier(backbone, cfg["num_classes"], cfg["head"], cfg["head_hidden_dims"])


def config_json_text(cfg: dict) -> str:
    """Canonical JSON text of a config (sorted keys), as stored next to fixtures and in metadata."""
    return json.dumps(config_from_json(copy.deepcopy(cfg)), sort_keys=True)
