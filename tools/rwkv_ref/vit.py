"""Plain DeiT-style Vision Transformer in PyTorch: the attention model a user would pick instead
of VRWKV, for the end-to-end benchmark (benchmarks/e2e/compare.py).

Same structure and parameter names as timm's ``VisionTransformer`` (DeiT without distillation
token): patch_embed.proj (Conv 16x16 / 16) -> prepend cls_token -> + pos_embed -> blocks
[x + attn(norm1(x)); x + mlp(norm2(x))] -> norm -> head(cls token). LayerNorm eps 1e-6, qkv with
bias, GELU MLP. Attention is written out as softmax(q k^T / sqrt(d)) v (torch 1.13 has no
F.scaled_dot_product_attention): it is quadratic in the number of tokens, on purpose.

Any input size runs: the image is zero-padded at the bottom/right to a multiple of the patch
(as VRWKV's 'corner' padding) and the patch part of pos_embed is resized bicubically
(align_corners=False, antialias as timm's ``resample_abs_pos_embed``); the cls token's entry is
kept as is.

Presets (DeiT): vit_t = 192 dims, 12 layers, 3 heads; vit_s = 384, 12, 6; vit_b = 768, 12, 12;
all MLP ratio 4, patch 16, 224x224 pos grid (14x14), 1000 classes.
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    "vit_t": {"embed_dim": 192, "depth": 12, "num_heads": 3},
    "vit_s": {"embed_dim": 384, "depth": 12, "num_heads": 6},
    "vit_b": {"embed_dim": 768, "depth": 12, "num_heads": 12},
}

# the ViT of the same width and depth as each VRWKV preset
VIT_FOR_VRWKV = {"vrwkv_t": "vit_t", "vrwkv_s": "vit_s", "vrwkv_b": "vit_b"}


class PatchEmbed(nn.Module):
    def __init__(self, patch_size=16, in_chans=3, embed_dim=192):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x) -> Tuple[torch.Tensor, Tuple[int, int]]:
        p = self.patch_size
        H, W = x.shape[-2:]
        pad_h, pad_w = (-H) % p, (-W) % p
        if pad_h or pad_w:
            x = F.pad(x, [0, pad_w, 0, pad_h])
        x = self.proj(x)
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                              # [B, heads, N, d]
        attn = (q * self.scale) @ k.transpose(-2, -1)        # [B, heads, N, N]
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def resample_pos_embed(pos: torch.Tensor, src_hw, dst_hw, num_prefix_tokens: int = 1) -> torch.Tensor:
    """[1, prefix + Hs*Ws, C] -> [1, prefix + Hd*Wd, C]: bicubic resize of the patch part."""
    if tuple(src_hw) == tuple(dst_hw):
        return pos
    prefix, grid = pos[:, :num_prefix_tokens], pos[:, num_prefix_tokens:]
    C = pos.shape[-1]
    grid = grid.reshape(1, src_hw[0], src_hw[1], C).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=tuple(dst_hw), mode="bicubic", align_corners=False, antialias=True)
    grid = grid.flatten(2).transpose(1, 2)
    return torch.cat([prefix, grid], dim=1)


class VisionTransformer(nn.Module):
    """DeiT-style ViT classifier (cls token, absolute position embedding)."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, num_classes=1000, embed_dim=192,
                 depth=12, num_heads=3, mlp_ratio=4.0):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.depth = depth
        self.mlp_ratio = mlp_ratio
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        self.grid = (math.ceil(img_size / patch_size),) * 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid[0] * self.grid[1], embed_dim))
        self.blocks = nn.ModuleList([Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self):
        """timm's default: truncated normal(0.02) for pos/cls and Linear weights, zero biases."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward_features(self, x):
        x, hw = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + resample_pos_embed(self.pos_embed, self.grid, hw)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def forward(self, x):
        return self.head(self.forward_features(x)[:, 0])


def build_vit(name: str, **overrides) -> VisionTransformer:
    """A preset (``vit_t``, ``vit_s``, ``vit_b``) with random (timm-default) weights."""
    cfg = dict(PRESETS[name])
    cfg.update(overrides)
    return VisionTransformer(**cfg)


def attention_bytes(name: str, H: int, W: int, batch: int = 1, patch: int = 16, dtype_bytes: int = 4) -> int:
    """Size of one layer's attention matrix [B, heads, N, N] (N = tokens + cls) in bytes: the
    dominant activation of a ViT forward at large inputs (scores and softmax output are both alive
    at the peak, so count about twice this)."""
    n = math.ceil(H / patch) * math.ceil(W / patch) + 1
    return batch * PRESETS[name]["num_heads"] * n * n * dtype_bytes
