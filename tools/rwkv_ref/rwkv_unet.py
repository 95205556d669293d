"""RWKV-UNet (2-D medical segmentation) in plain PyTorch, no CUDA extension, no timm.

Follows spec/vrwkv.md §6.1 and the official juntaoJianggavin/RWKV-UNet (``rwkv_unet.py``,
``ccm/ccm.py``, ``module/basic_modules.py``). Attribute names are chosen so that ``state_dict()``
keys are identical to the official model's:

    encoder.stage0.0.{conv,conv_local,se,proj,att,ln1,ln2}...   (GLSP; att/ln1/ln2 exist in every
    encoder.stage{1..4}.{j}.{norm,conv,conv_local,proj,att,...}  GLSP even where unused, as upstream)
    encoder.norm, encoder.head                                  (unused by the U-Net, kept for keys)
    ccm.{projections.i, ln1, channel.{spatial_mix_k/r,key,key_norm,receptance,value}, final_projections.i}
    decoder{1..4}.{ln1, conv, conv_local, proj}                 final_conv

ConvNormAct = {conv (no bias), norm (BatchNorm2d eps 1e-6 | Identity), act}; LayerNorm2d keeps its
``nn.LayerNorm`` as ``.norm`` (keys ``norm.norm.weight``), eps 1e-6.

Two deliberate generalisations, both identical to upstream at its own (square) input size:
* GLSP reshapes tokens back with the stage's real (H, W) (upstream uses h = w = sqrt(N), which only
  works for square inputs).
* CCMix resizes to the size of its last input (enc1, stride 2) and back to each input's own size
  (upstream uses the constructor's fixed ``img_size // 2`` and ``[t//4, t//2, t]``, equal to these at
  img_size).
Grayscale input: the official B and S models do ``x.repeat(1, 3, 1, 1)`` in forward (1-channel
input); T does not (3-channel input). Config field ``repeat_gray`` says which.

The Bi-WKV is ours (tools/rwkv_ref/bi_wkv.py), TOKEN_SPLIT 32, EPS 1e-6 as the repo's kernel.
"""
from __future__ import annotations

import copy
import json
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bi_wkv import bi_wkv
from .vrwkv import q_shift

NORM_EPS = 1e-6  # get_norm(): BN and LN2d in this code base


# --------------------------------------------------------------------------- basic modules

class LayerNorm2d(nn.Module):
    """LayerNorm over channels of [B, C, H, W] (keeps an nn.LayerNorm as .norm)."""

    def __init__(self, normalized_shape, eps=NORM_EPS):
        super().__init__()
        self.norm = nn.LayerNorm(normalized_shape, eps)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def get_norm(name: str):
    return {"none": lambda c: nn.Identity(),
            "bn_2d": lambda c: nn.BatchNorm2d(c, eps=NORM_EPS),
            "ln_2d": lambda c: LayerNorm2d(c, eps=NORM_EPS)}[name]


def get_act(name: str):
    return {"none": nn.Identity, "relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU,
            "sigmoid": nn.Sigmoid}[name]


class ConvNormAct(nn.Module):
    def __init__(self, dim_in, dim_out, kernel_size, stride=1, dilation=1, groups=1, bias=False,
                 norm_layer="bn_2d", act_layer="relu"):
        super().__init__()
        padding = math.ceil((kernel_size - stride) / 2)
        self.conv = nn.Conv2d(dim_in, dim_out, kernel_size, stride, padding, dilation, groups, bias)
        self.norm = get_norm(norm_layer)(dim_out)
        self.act = get_act(act_layer)()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class SE(nn.Module):
    """Squeeze-and-excitation: mean over H, W -> 1x1 conv -> act -> 1x1 conv -> sigmoid gate."""

    def __init__(self, in_chs, rd_ratio=0.25, act_layer="relu"):
        super().__init__()
        rd = round(in_chs * rd_ratio)
        self.conv_reduce = nn.Conv2d(in_chs, rd, 1, bias=True)
        self.act1 = get_act(act_layer)()
        self.conv_expand = nn.Conv2d(rd, in_chs, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.conv_expand(self.act1(self.conv_reduce(s))))


class VRWKV_SpatialMix(nn.Module):
    """Spatial mix with key_norm always on (RWKV-UNet's variant); mixes start at 0.5."""

    def __init__(self, n_embd, token_split=32, eps=1e-6, wkv_impl="recurrent"):
        super().__init__()
        self.n_embd = n_embd
        self.token_split, self.eps, self.wkv_impl = token_split, eps, wkv_impl
        self.spatial_decay = nn.Parameter(torch.zeros(n_embd))
        self.spatial_first = nn.Parameter(torch.zeros(n_embd))
        self.spatial_mix_k = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.spatial_mix_v = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.spatial_mix_r = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.key = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(n_embd, n_embd, bias=False)
        self.receptance = nn.Linear(n_embd, n_embd, bias=False)
        self.key_norm = nn.LayerNorm(n_embd)
        self.output = nn.Linear(n_embd, n_embd, bias=False)

    def forward(self, x, hw):
        B, T, C = x.shape
        xx = q_shift(x, hw)
        xk = x * self.spatial_mix_k + xx * (1 - self.spatial_mix_k)
        xv = x * self.spatial_mix_v + xx * (1 - self.spatial_mix_v)
        xr = x * self.spatial_mix_r + xx * (1 - self.spatial_mix_r)
        k = self.key(xk)
        v = self.value(xv)
        sr = torch.sigmoid(self.receptance(xr))
        a = bi_wkv(self.spatial_decay / T, self.spatial_first / T, k, v, self.token_split, self.eps,
                   impl=self.wkv_impl)
        return self.output(sr * self.key_norm(a))


class VRWKV_ChannelMix(nn.Module):
    def __init__(self, n_embd, hidden_rate=2, key_norm=True):
        super().__init__()
        self.n_embd = n_embd
        hidden = hidden_rate * n_embd
        self.spatial_mix_k = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.spatial_mix_r = nn.Parameter(torch.full((1, 1, n_embd), 0.5))
        self.key = nn.Linear(n_embd, hidden, bias=False)
        self.key_norm = nn.LayerNorm(hidden) if key_norm else None
        self.receptance = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(hidden, n_embd, bias=False)

    def forward(self, x, hw):
        xx = q_shift(x, hw)
        xk = x * self.spatial_mix_k + xx * (1 - self.spatial_mix_k)
        xr = x * self.spatial_mix_r + xx * (1 - self.spatial_mix_r)
        h = torch.square(torch.relu(self.key(xk)))
        if self.key_norm is not None:
            h = self.key_norm(h)
        return torch.sigmoid(self.receptance(xr)) * self.value(h)


# --------------------------------------------------------------------------- encoder

class GLSP(nn.Module):
    """Inverted residual: [norm] -> 1x1 ConvNormAct(BN, ReLU) -> (attention: tokens += LN(att))
    -> depthwise ConvNormAct(BN, SiLU, stride) [+ SE] (+ x if skip) -> 1x1 conv -> (+ shortcut)."""

    def __init__(self, dim_in, dim_out, norm_in=True, has_skip=True, exp_ratio=1.0, norm_layer="bn_2d",
                 act_layer="relu", dw_ks=3, stride=1, se_ratio=0.0, attn_s=True, token_split=32,
                 eps=1e-6, wkv_impl="recurrent"):
        super().__init__()
        self.norm = get_norm(norm_layer)(dim_in) if norm_in else nn.Identity()
        dim_mid = int(dim_in * exp_ratio)
        self.ln1 = nn.LayerNorm(dim_mid)
        self.ln2 = nn.LayerNorm(dim_mid)  # unused upstream too; present in the checkpoints
        self.conv = ConvNormAct(dim_in, dim_mid, kernel_size=1)
        self.has_skip = (dim_in == dim_out and stride == 1) and has_skip
        self.att = VRWKV_SpatialMix(dim_mid, token_split, eps, wkv_impl)
        self.se = SE(dim_mid, rd_ratio=se_ratio, act_layer=act_layer) if se_ratio > 0.0 else nn.Identity()
        self.proj = ConvNormAct(dim_mid, dim_out, kernel_size=1, norm_layer="none", act_layer="none")
        self.attn_s = attn_s
        self.conv_local = ConvNormAct(dim_mid, dim_mid, kernel_size=dw_ks, stride=stride, groups=dim_mid,
                                      norm_layer="bn_2d", act_layer="silu")

    def forward(self, x):
        shortcut = x
        x = self.conv(self.norm(x))
        if self.attn_s:
            B, C, H, W = x.shape
            t = x.flatten(2).transpose(1, 2)
            t = t + self.ln1(self.att(t, (H, W)))
            x = t.transpose(1, 2).reshape(B, C, H, W)
        y = self.se(self.conv_local(x))
        x = x + y if self.has_skip else y
        x = self.proj(x)
        return shortcut + x if self.has_skip else x


class RWKV_UNet_encoder(nn.Module):
    def __init__(self, dim_in=3, num_classes=1000, depths=(2, 2, 4, 2), stem_dim=24,
                 embed_dims=(32, 48, 96, 160), exp_ratios=(2.0, 2.5, 3.0, 3.5),
                 norm_layers=("bn_2d", "bn_2d", "ln_2d", "ln_2d"), act_layers=("silu", "silu", "gelu", "gelu"),
                 dw_kss=(5, 5, 5, 5), attn_ss=(False, False, True, True), token_split=32, eps=1e-6,
                 wkv_impl="recurrent"):
        super().__init__()
        kw = dict(token_split=token_split, eps=eps, wkv_impl=wkv_impl)
        self.stage0 = nn.ModuleList([GLSP(dim_in, stem_dim, norm_in=False, has_skip=False, exp_ratio=1,
                                          norm_layer=norm_layers[0], act_layer=act_layers[0], dw_ks=dw_kss[0],
                                          stride=1, se_ratio=1, attn_s=False, **kw)])
        prev = stem_dim
        for i in range(len(depths)):
            layers = []
            for j in range(depths[i]):
                first = j == 0
                layers.append(GLSP(prev, embed_dims[i], norm_in=True, has_skip=not first,
                                   exp_ratio=exp_ratios[i] * 2 if first else exp_ratios[i],
                                   norm_layer=norm_layers[i], act_layer=act_layers[i], dw_ks=dw_kss[i],
                                   stride=2 if first else 1, se_ratio=0.0,
                                   attn_s=False if first else attn_ss[i], **kw))
                prev = embed_dims[i]
            setattr(self, f"stage{i + 1}", nn.ModuleList(layers))
        self.norm = get_norm(norm_layers[-1])(embed_dims[-1])   # unused by the U-Net
        self.head = nn.Linear(embed_dims[-1], num_classes)      # unused by the U-Net


class UpBlock(nn.Module):
    """1x1 ConvNormAct(BN, ReLU) -> depthwise 9x9 ConvNormAct(BN, SiLU) -> 1x1 ConvNormAct(BN, ReLU)
    -> bilinear x2 (align_corners=False)."""

    def __init__(self, dim_in, dim_out, exp_ratio=1.0, dw_ks=9):
        super().__init__()
        self.norm = nn.Identity()
        dim_mid = int(dim_in * exp_ratio)
        self.ln1 = nn.LayerNorm(dim_mid)  # unused upstream too; present in the checkpoints
        self.conv = ConvNormAct(dim_in, dim_mid, kernel_size=1)
        self.se = nn.Identity()
        self.proj = ConvNormAct(dim_mid, dim_out, kernel_size=1, norm_layer="bn_2d", act_layer="relu")
        self.conv_local = ConvNormAct(dim_mid, dim_mid, kernel_size=dw_ks, stride=1, groups=dim_mid,
                                      norm_layer="bn_2d", act_layer="silu")

    def forward(self, x):
        x = self.proj(self.conv_local(self.conv(x)))
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class CCMix(nn.Module):
    """Cross-channel mix of the skips enc3, enc2, enc1 at enc1's resolution (stride 2)."""

    def __init__(self, in_dims, target_dim):
        super().__init__()
        self.target_dim = target_dim
        self.projections = nn.ModuleList([nn.Conv2d(d, target_dim, 1) for d in in_dims])
        self.ln1 = nn.LayerNorm(target_dim * 3)
        self.channel = VRWKV_ChannelMix(target_dim * 3, hidden_rate=2, key_norm=True)
        self.final_projections = nn.ModuleList([nn.Conv2d(target_dim, d, 1) for d in in_dims])

    def forward(self, features: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        H, W = features[-1].shape[2:]
        ups = [self.projections[i](F.interpolate(f, size=(H, W), mode="bilinear", align_corners=False))
               for i, f in enumerate(features)]
        x = torch.cat(ups, dim=1)
        B, C = x.shape[:2]
        t = x.flatten(2).transpose(1, 2)
        t = t + self.ln1(self.channel(t, (H, W)))
        x = t.transpose(1, 2).reshape(B, C, H, W)
        out = []
        for i, part in enumerate(torch.split(x, self.target_dim, dim=1)):
            y = self.final_projections[i](part)
            out.append(F.interpolate(y, size=tuple(features[i].shape[2:]), mode="bilinear", align_corners=False))
        return out


# --------------------------------------------------------------------------- the U-Net

class RWKV_UNet(nn.Module):
    def __init__(self, cfg: dict, wkv_impl: str = "recurrent"):
        super().__init__()
        cfg = config_from_json(cfg)
        self.cfg = cfg
        d = cfg["embed_dims"]
        self.repeat_gray = cfg["repeat_gray"]
        self.encoder = RWKV_UNet_encoder(
            dim_in=3, num_classes=cfg["encoder_num_classes"], depths=cfg["depths"], stem_dim=cfg["stem_dim"],
            embed_dims=d, exp_ratios=cfg["exp_ratios"], norm_layers=cfg["norm_layers"],
            act_layers=cfg["act_layers"], dw_kss=cfg["dw_kss"], attn_ss=cfg["attn_ss"],
            token_split=cfg["token_split"], eps=cfg["eps"], wkv_impl=wkv_impl)
        self.ccm = CCMix([d[2], d[1], d[0]], d[0])
        k = cfg["decoder_dw_ks"]
        self.decoder1 = UpBlock(d[3], d[2], dw_ks=k)
        self.decoder2 = UpBlock(d[2] * 2, d[1], dw_ks=k)
        self.decoder3 = UpBlock(d[1] * 2, d[0], dw_ks=k)
        self.decoder4 = UpBlock(d[0] * 2, cfg["decoder_out_dim"], dw_ks=k)
        self.final_conv = nn.Conv2d(cfg["decoder_out_dim"], cfg["num_classes"], kernel_size=1)

    def set_wkv_impl(self, impl: str):
        for m in self.modules():
            if isinstance(m, VRWKV_SpatialMix):
                m.wkv_impl = impl

    def forward(self, x, intermediates: Optional[Dict[str, torch.Tensor]] = None):
        if self.repeat_gray:
            x = x.repeat(1, 3, 1, 1)
        feats = []
        for s in range(5):
            for blk in getattr(self.encoder, f"stage{s}"):
                x = blk(x)
            feats.append(x)
            if intermediates is not None:
                intermediates[f"enc{s}"] = x
        enc3, enc2, enc1 = self.ccm([feats[3], feats[2], feats[1]])
        if intermediates is not None:
            intermediates.update(ccm3=enc3, ccm2=enc2, ccm1=enc1)
        dec3 = self.decoder1(x)
        dec2 = self.decoder2(torch.cat([dec3, enc3], dim=1))
        dec1 = self.decoder3(torch.cat([dec2, enc2], dim=1))
        dec0 = self.decoder4(torch.cat([dec1, enc1], dim=1))
        if intermediates is not None:
            intermediates.update(dec3=dec3, dec2=dec2, dec1=dec1, dec0=dec0)
        return self.final_conv(dec0)


# --------------------------------------------------------------------------- configs

_ENC_COMMON = {"stem_dim": 24, "norm_layers": ["bn_2d", "bn_2d", "ln_2d", "ln_2d"],
               "act_layers": ["silu", "silu", "gelu", "gelu"], "dw_kss": [5, 5, 5, 5],
               "attn_ss": [False, False, True, True]}

PRESETS = {
    # RWKV_UNet_T: 3-channel input (no repeat in its forward), num_classes 1 upstream by default.
    "rwkv_unet_t": dict(_ENC_COMMON, depths=[2, 2, 4, 2], embed_dims=[32, 48, 96, 160],
                        exp_ratios=[2.0, 2.5, 3.0, 3.5], repeat_gray=False),
    "rwkv_unet_s": dict(_ENC_COMMON, depths=[3, 3, 6, 3], embed_dims=[32, 64, 128, 192],
                        exp_ratios=[2.0, 2.5, 3.0, 4.0], repeat_gray=True),
    "rwkv_unet_b": dict(_ENC_COMMON, depths=[3, 3, 6, 3], embed_dims=[48, 72, 144, 240],
                        exp_ratios=[2.0, 2.5, 4.0, 4.0], repeat_gray=True),
    # Our narrow model of the same structure (bundled brainmask_t1): every kind of block is there
    # (stride-2 block, skip block, attention blocks in stages 3-4, CCM, 4 decoders).
    "rwkv_unet_n": dict(_ENC_COMMON, stem_dim=16, depths=[2, 2, 2, 2], embed_dims=[16, 24, 48, 64],
                        exp_ratios=[2.0, 2.0, 2.0, 2.0], repeat_gray=True, decoder_out_dim=16,
                        encoder_num_classes=1),
}

CONFIG_DEFAULTS = {"num_classes": 9, "decoder_out_dim": 24, "decoder_dw_ks": 9, "encoder_num_classes": 1000,
                   "token_split": 32, "eps": 1e-6, "img_size": 224, "repeat_gray": True}
_REQUIRED = ("depths", "stem_dim", "embed_dims", "exp_ratios", "norm_layers", "act_layers", "dw_kss", "attn_ss")


def config_from_json(cfg) -> dict:
    """Our JSON config -> complete dict. ``arch`` names a preset whose fields the rest override."""
    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    cfg = dict(cfg)
    out = dict(CONFIG_DEFAULTS)
    if "arch" in cfg:
        out.update(PRESETS[cfg["arch"]])
    out.update(cfg)
    allowed = set(CONFIG_DEFAULTS) | set(_REQUIRED) | {"arch", "name", "in_channels"}
    unknown = set(out) - allowed
    if unknown:
        raise ValueError(f"unknown config fields: {sorted(unknown)}")
    for r in _REQUIRED:
        if r not in out:
            raise ValueError(f"config needs {r!r}")
    out["in_channels"] = 1 if out["repeat_gray"] else 3
    return out


def preset_config(name: str, **overrides) -> dict:
    cfg = {"arch": name}
    cfg.update(overrides)
    return config_from_json(cfg)


def config_json_text(cfg: dict) -> str:
    return json.dumps(config_from_json(copy.deepcopy(cfg)), sort_keys=True)


def unused_keys(model: RWKV_UNet) -> List[str]:
    """State-dict keys the U-Net's forward never reads (upstream builds them anyway): att/ln1/ln2 of
    GLSPs without attention, ln2 everywhere, the encoder's norm and classifier head, the decoders'
    ln1, and BatchNorm num_batches_tracked."""
    out = []
    for k in model.state_dict():
        parts = k.split(".")
        if k.endswith("num_batches_tracked") or k.startswith(("encoder.norm.", "encoder.head.")):
            out.append(k)
        elif parts[0] == "encoder" and parts[1].startswith("stage"):
            blk = getattr(model.encoder, parts[1])[int(parts[2])]
            if parts[3] == "ln2" or (parts[3] in ("att", "ln1") and not blk.attn_s):
                out.append(k)
        elif parts[0].startswith("decoder") and parts[1] == "ln1":
            out.append(k)
    return out


def build_unet(cfg: dict, wkv_impl: str = "recurrent") -> RWKV_UNet:
    return RWKV_UNet(cfg, wkv_impl)
