"""Restore-RWKV (Yaziwel/Restore-RWKV ``model/Restore_RWKV.py``) in plain PyTorch, on the CPU.

Follows spec/vrwkv.md §5. Module and parameter names are the official ones, so ``state_dict()``
keys equal those of checkpoints saved by the official code, e.g.

    patch_embed.{weight,bias}
    encoder_level1.{i}.{ln1,ln2}.{weight,bias}   encoder_level1.{i}.gamma1 / gamma2
    encoder_level1.{i}.att.{key,value,receptance,output}.weight
    encoder_level1.{i}.att.{spatial_decay,spatial_first}          [2, C] (raster, column pass)
    encoder_level1.{i}.att.dwconv.weight                         (unused by the forward pass)
    encoder_level1.{i}.{att,ffn}.omni_shift.{conv1x1,conv3x3,conv5x5,conv5x5_reparam}.weight, .alpha
    encoder_level1.{i}.ffn.{key,receptance,value}.weight
    down1_2.body.0.weight   up4_3.body.0.weight   reduce_chan_level3.{weight,bias}   output.{weight,bias}
    (levels: encoder_level1..3, latent, decoder_level3..1, refinement; down1_2, down2_3, down3_4,
     up4_3, up3_2, up2_1, reduce_chan_level3, reduce_chan_level2)

What differs from the official file, and why:

* Bi-WKV: the official module calls a CUDA kernel; here it is ours (tools/rwkv_ref/bi_wkv.py),
  with the kernel's TOKEN_SPLIT and EPS as parameters. Restore-RWKV's published results come from
  the pre-July-2025 shared-memory kernel with TOKEN_SPLIT 64, EPS 1e-6 (spec §5.3): the defaults.
  ``wkv_impl``: 'train' (vectorised O(T) scan, differentiable, float32: for training), 'scan'
  (same, exact EPS, not differentiable; float64 inputs compute in float64: for fixtures),
  'scan_fast', 'recurrent' (O(T) loop, float64), 'matrix' (O(T^2)).
* Omni-Shift: the official module runs three depthwise convs plus identity in training and, at the
  first forward in eval mode, folds them into ``conv5x5_reparam`` (alpha0 I + alpha1 W1 + alpha2 W3 +
  alpha3 W5, zero-padded to 5x5). Here the folded kernel is rebuilt from the branches at *every*
  forward, train or eval (the same function, one conv instead of three; gradients flow into the
  branch weights and alpha exactly as in the official training), and in eval mode it is also
  copied into ``conv5x5_reparam.weight`` so saved files carry a consistent value. Loaders must
  never trust that stored tensor (the C++ side rebuilds it too).
* Configurable widths, block counts, hidden rate, channels (``inp_channels`` = ``out_channels``,
  because of the global residual: 1 for the official medical models, 3 for our colour models).
* Super-resolution (``scale`` > 1): the network is the official one, unchanged; its input is the
  low-resolution image upsampled by ``scale`` with bicubic interpolation (PyTorch
  ``F.interpolate(mode='bicubic', align_corners=False)``: Keys cubic a = -0.75, half-pixel
  centres, edge samples clamped), so the global residual adds the bicubic image and the network
  learns the missing detail. This is how the official code does MRI super-resolution (input and
  target of the same size) and keeps the state dict identical; the cost is that the U-Net runs at
  the output resolution. ``forward(lr)`` returns [B, C, scale H, scale W].
* ``forward(x, intermediates=dict)`` records named intermediate tensors for parity tests.

Input range: [0, 1] per channel (the official ``transformData`` min-max normalisation for medical
data; 8-bit images / 255, 16-bit / 65535 for ours). H and W (after the SR upsampling) must be
divisible by 8 -- the C++ restorer reflect-pads and crops; ``forward_padded`` does the same here.

Saving: ``save_restore_rwkv(path, model, cfg, model_id, task)`` writes safetensors with metadata
{"format": "rwkv-vision", "arch": "restore_rwkv", "model_id", "task", "config": JSON text of
``config_json_text(cfg)``}; ``load_restore_rwkv(path)`` rebuilds the model from it.
"""
from __future__ import annotations

import copy
import json
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .bi_wkv import bi_wkv
from .bi_wkv_autograd import bi_wkv_scan_autograd
from .safetensors_io import load_safetensors, save_safetensors

RESTORE_WKV_IMPLS = ("train", "scan", "scan_fast", "recurrent", "matrix")


def run_bi_wkv(w, u, k, v, token_split: int, eps: float, impl: str):
    if impl == "train":
        return bi_wkv_scan_autograd(w, u, k, v, token_split, eps)
    return bi_wkv(w, u, k, v, token_split, eps, impl=impl)


def _to_tokens(x: torch.Tensor) -> torch.Tensor:          # [B,C,H,W] -> [B,H*W,C] (row-major)
    return x.flatten(2).transpose(1, 2)


def _to_image(x: torch.Tensor, h: int, w: int) -> torch.Tensor:   # [B,H*W,C] -> [B,C,H,W]
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w)


def _raster_to_columns(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """[B, (h w), C] -> [B, (w h), C]: token order column by column (einops 'b (h w) c -> b (w h) c')."""
    B, T, C = x.shape
    return x.view(B, h, w, C).transpose(1, 2).reshape(B, T, C)


def _columns_to_raster(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    B, T, C = x.shape
    return x.view(B, w, h, C).transpose(1, 2).reshape(B, T, C)


class OmniShift(nn.Module):
    """Depthwise 5x5 conv re-parameterised from identity, 1x1, 3x3 and 5x5 branches (spec §5.2)."""

    def __init__(self, dim):
        super().__init__()
        self.conv1x1 = nn.Conv2d(dim, dim, kernel_size=1, groups=dim, bias=False)
        self.conv3x3 = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim, bias=False)
        self.conv5x5 = nn.Conv2d(dim, dim, kernel_size=5, padding=2, groups=dim, bias=False)
        self.alpha = nn.Parameter(torch.randn(4))
        self.conv5x5_reparam = nn.Conv2d(dim, dim, kernel_size=5, padding=2, groups=dim, bias=False)

    def combined_weight(self) -> torch.Tensor:
        """alpha0 I + alpha1 pad(W1x1) + alpha2 pad(W3x3) + alpha3 W5x5, shape [C, 1, 5, 5]."""
        w1 = self.conv1x1.weight
        identity = F.pad(torch.ones_like(w1), (2, 2, 2, 2))
        a = self.alpha
        return (a[0] * identity + a[1] * F.pad(w1, (2, 2, 2, 2))
                + a[2] * F.pad(self.conv3x3.weight, (1, 1, 1, 1)) + a[3] * self.conv5x5.weight)

    def forward(self, x):
        wgt = self.combined_weight()
        if not self.training:
            with torch.no_grad():
                self.conv5x5_reparam.weight.copy_(wgt)
        return F.conv2d(x, wgt, None, 1, 2, 1, x.shape[1])


class VRWKV_SpatialMix(nn.Module):
    """Re-WKV attention: Omni-Shift, k/v/r projections, Bi-WKV raster then column-major."""

    def __init__(self, n_embd, n_layer, layer_id, key_norm=False, token_split=64, eps=1e-6,
                 wkv_impl="train"):
        super().__init__()
        self.n_embd, self.n_layer, self.layer_id = n_embd, n_layer, layer_id
        self.token_split, self.eps, self.wkv_impl = token_split, eps, wkv_impl
        self.dwconv = nn.Conv2d(n_embd, n_embd, 3, 1, 1, groups=n_embd, bias=False)   # unused (official)
        self.recurrence = 2
        self.omni_shift = OmniShift(n_embd)
        self.key = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(n_embd, n_embd, bias=False)
        self.receptance = nn.Linear(n_embd, n_embd, bias=False)
        self.key_norm = nn.LayerNorm(n_embd) if key_norm else None
        self.output = nn.Linear(n_embd, n_embd, bias=False)
        self.spatial_decay = nn.Parameter(torch.randn(self.recurrence, n_embd))
        self.spatial_first = nn.Parameter(torch.randn(self.recurrence, n_embd))

    def forward(self, x, resolution, intermediates=None, prefix=""):
        B, T, C = x.shape
        h, w = resolution
        xs = _to_tokens(self.omni_shift(_to_image(x, h, w)))
        k = self.key(xs)
        v = self.value(xs)
        sr = torch.sigmoid(self.receptance(xs))
        for j in range(self.recurrence):
            wj, uj = self.spatial_decay[j] / T, self.spatial_first[j] / T
            if j % 2 == 0:      # raster order (h, w)
                v = run_bi_wkv(wj, uj, k, v, self.token_split, self.eps, self.wkv_impl)
            else:               # column-major order (w, h); the same k, the previous pass's output as v
                kc = _raster_to_columns(k, h, w)
                vc = _raster_to_columns(v, h, w)
                v = _columns_to_raster(run_bi_wkv(wj, uj, kc, vc, self.token_split, self.eps, self.wkv_impl), h, w)
            if intermediates is not None:
                intermediates[f"{prefix}wkv{j}"] = v
        if self.key_norm is not None:
            v = self.key_norm(v)
        return self.output(sr * v)


class VRWKV_ChannelMix(nn.Module):
    def __init__(self, n_embd, n_layer, layer_id, hidden_rate=4, key_norm=False):
        super().__init__()
        self.n_embd, self.n_layer, self.layer_id = n_embd, n_layer, layer_id
        hidden = int(hidden_rate * n_embd)
        self.key = nn.Linear(n_embd, hidden, bias=False)
        self.omni_shift = OmniShift(n_embd)
        self.key_norm = nn.LayerNorm(hidden) if key_norm else None
        self.receptance = nn.Linear(n_embd, n_embd, bias=False)
        self.value = nn.Linear(hidden, n_embd, bias=False)

    def forward(self, x, resolution):
        h, w = resolution
        xs = _to_tokens(self.omni_shift(_to_image(x, h, w)))
        k = torch.square(torch.relu(self.key(xs)))
        if self.key_norm is not None:
            k = self.key_norm(k)
        return torch.sigmoid(self.receptance(xs)) * self.value(k)


class Block(nn.Module):
    """Pre-norm block with layer scale: x += g1 Att(LN1 x); x += g2 FFN(LN2 x). [B,C,H,W] in/out."""

    def __init__(self, n_embd, n_layer, layer_id, hidden_rate=4, key_norm=False, token_split=64,
                 eps=1e-6, wkv_impl="train"):
        super().__init__()
        self.layer_id = layer_id
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        self.att = VRWKV_SpatialMix(n_embd, n_layer, layer_id, key_norm, token_split, eps, wkv_impl)
        self.ffn = VRWKV_ChannelMix(n_embd, n_layer, layer_id, hidden_rate, key_norm)
        self.gamma1 = nn.Parameter(torch.ones(n_embd))
        self.gamma2 = nn.Parameter(torch.ones(n_embd))

    def forward(self, x, intermediates=None, prefix=""):
        b, c, h, w = x.shape
        t = _to_tokens(x)
        t = t + self.gamma1 * self.att(self.ln1(t), (h, w), intermediates, prefix + "att.")
        if intermediates is not None:
            intermediates[prefix + "after_att"] = _to_image(t, h, w)
        t = t + self.gamma2 * self.ffn(self.ln2(t), (h, w))
        return _to_image(t, h, w)


class Downsample(nn.Module):
    def __init__(self, n_feat):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat // 2, 3, 1, 1, bias=False), nn.PixelUnshuffle(2))

    def forward(self, x):
        return self.body(x)


class Upsample(nn.Module):
    def __init__(self, n_feat):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat * 2, 3, 1, 1, bias=False), nn.PixelShuffle(2))

    def forward(self, x):
        return self.body(x)


class Restore_RWKV(nn.Module):
    LEVELS = ("encoder_level1", "encoder_level2", "encoder_level3", "latent",
              "decoder_level3", "decoder_level2", "decoder_level1", "refinement")

    def __init__(self, inp_channels=1, out_channels=1, dim=48, num_blocks=(4, 6, 6, 8),
                 num_refinement_blocks=4, hidden_rate=4, key_norm=False, token_split=64, eps=1e-6,
                 scale=1, wkv_impl="train"):
        super().__init__()
        if inp_channels != out_channels:
            raise ValueError("Restore-RWKV adds its input to its output: inp_channels must equal out_channels")
        self.scale = int(scale)
        nb = list(num_blocks)
        if len(nb) != 4:
            raise ValueError("num_blocks needs 4 entries")

        def blocks(width, n):
            return nn.Sequential(*[Block(width, n, i, hidden_rate, key_norm, token_split, eps, wkv_impl)
                                   for i in range(n)])

        d = dim
        self.patch_embed = nn.Conv2d(inp_channels, d, 3, 1, 1, bias=True)
        self.encoder_level1 = blocks(d, nb[0])
        self.down1_2 = Downsample(d)
        self.encoder_level2 = blocks(d * 2, nb[1])
        self.down2_3 = Downsample(d * 2)
        self.encoder_level3 = blocks(d * 4, nb[2])
        self.down3_4 = Downsample(d * 4)
        self.latent = blocks(d * 8, nb[3])
        self.up4_3 = Upsample(d * 8)
        self.reduce_chan_level3 = nn.Conv2d(d * 8, d * 4, 1, bias=True)
        self.decoder_level3 = blocks(d * 4, nb[2])
        self.up3_2 = Upsample(d * 4)
        self.reduce_chan_level2 = nn.Conv2d(d * 4, d * 2, 1, bias=True)
        self.decoder_level2 = blocks(d * 2, nb[1])
        self.up2_1 = Upsample(d * 2)
        self.decoder_level1 = blocks(d * 2, nb[0])
        self.refinement = blocks(d * 2, num_refinement_blocks)
        self.output = nn.Conv2d(d * 2, out_channels, 3, 1, 1, bias=True)

    def set_wkv_impl(self, impl: str):
        if impl not in RESTORE_WKV_IMPLS:
            raise ValueError(f"unknown Bi-WKV implementation {impl!r}")
        for m in self.modules():
            if isinstance(m, VRWKV_SpatialMix):
                m.wkv_impl = impl

    def _level(self, name, x, intermediates):
        for i, blk in enumerate(getattr(self, name)):
            x = blk(x, intermediates, f"{name}.{i}.")
            if intermediates is not None:
                intermediates[f"{name}.{i}"] = x
        return x

    def upsample_input(self, lr: torch.Tensor) -> torch.Tensor:
        """The SR input: bicubic x scale (identity for scale 1)."""
        if self.scale == 1:
            return lr
        return F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)

    def forward(self, inp_img, intermediates: Optional[Dict[str, torch.Tensor]] = None):
        x0 = self.upsample_input(inp_img)
        if x0.shape[2] % 8 or x0.shape[3] % 8:
            raise ValueError(f"Restore-RWKV needs H, W divisible by 8 (got {tuple(x0.shape[2:])}); "
                             "use forward_padded")
        rec = intermediates
        if rec is not None:
            rec["input"] = x0
        e1 = self.patch_embed(x0)
        if rec is not None:
            rec["patch_embed"] = e1
        e1 = self._level("encoder_level1", e1, rec)
        e2 = self._level("encoder_level2", self.down1_2(e1), rec)
        e3 = self._level("encoder_level3", self.down2_3(e2), rec)
        lat = self._level("latent", self.down3_4(e3), rec)
        d3 = self.reduce_chan_level3(torch.cat([self.up4_3(lat), e3], 1))
        d3 = self._level("decoder_level3", d3, rec)
        d2 = self.reduce_chan_level2(torch.cat([self.up3_2(d3), e2], 1))
        d2 = self._level("decoder_level2", d2, rec)
        d1 = torch.cat([self.up2_1(d2), e1], 1)
        d1 = self._level("decoder_level1", d1, rec)
        d1 = self._level("refinement", d1, rec)
        out = self.output(d1) + x0
        if rec is not None:
            rec["output"] = out
        return out

    def forward_padded(self, inp_img, intermediates=None):
        """Any size: reflect-pad the (upsampled) input at the bottom/right to a multiple of 8, run,
        crop back (what the C++ restorer does)."""
        x0 = self.upsample_input(inp_img)
        H, W = x0.shape[2:]
        ph, pw = (-H) % 8, (-W) % 8
        if ph or pw:
            x0 = F.pad(x0, (0, pw, 0, ph), mode="reflect")
        scale, self.scale = self.scale, 1
        try:
            out = self.forward(x0, intermediates)
        finally:
            self.scale = scale
        return out[:, :, :H, :W]


# --------------------------------------------------------------------------- configs

CONFIG_DEFAULTS = {
    "inp_channels": 3,
    "out_channels": 3,
    "dim": 48,
    "num_blocks": [4, 6, 6, 8],
    "num_refinement_blocks": 4,
    "hidden_rate": 4,
    "key_norm": False,
    "token_split": 64,
    "eps": 1e-6,
    "scale": 1,
}

PRESETS = {
    # the official network (medical: 1 channel)
    "restore_rwkv_official": {"inp_channels": 1, "out_channels": 1},
    "restore_rwkv_official_rgb": {},
}


def config_from_json(cfg: Union[dict, str]) -> dict:
    """Our JSON config -> complete config (defaults filled in, checked). Fields: CONFIG_DEFAULTS
    (+ optional 'name', 'arch')."""
    if isinstance(cfg, str):
        cfg = json.loads(cfg)
    unknown = set(cfg) - set(CONFIG_DEFAULTS) - {"name", "arch"}
    if unknown:
        raise ValueError(f"unknown Restore-RWKV config fields: {sorted(unknown)}")
    out = dict(CONFIG_DEFAULTS)
    out.update(cfg)
    out["num_blocks"] = [int(n) for n in out["num_blocks"]]
    if len(out["num_blocks"]) != 4:
        raise ValueError("num_blocks needs 4 entries")
    if int(out["scale"]) < 1:
        raise ValueError("scale must be >= 1")
    out["arch"] = "restore_rwkv"
    return out


def config_json_text(cfg: dict) -> str:
    return json.dumps(config_from_json(copy.deepcopy(cfg)), sort_keys=True)


def build_restore_rwkv(cfg: Union[dict, str], wkv_impl: str = "train") -> Restore_RWKV:
    c = config_from_json(cfg)
    return Restore_RWKV(c["inp_channels"], c["out_channels"], c["dim"], c["num_blocks"],
                        c["num_refinement_blocks"], c["hidden_rate"], c["key_norm"], c["token_split"],
                        c["eps"], c["scale"], wkv_impl)


def save_restore_rwkv(path: str, model: Restore_RWKV, cfg: dict, model_id: str, task: str,
                      extra: Optional[Dict[str, str]] = None):
    """safetensors, float32, official keys; metadata carries our config (see module docstring).
    ``conv5x5_reparam`` is refreshed from the branches first (eval-mode forward semantics)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, OmniShift):
                m.conv5x5_reparam.weight.copy_(m.combined_weight())
    meta = {"format": "rwkv-vision", "arch": "restore_rwkv", "model_id": model_id, "task": task,
            "config": config_json_text(cfg)}
    if extra:
        meta.update(extra)
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_safetensors(path, tensors, meta)


def load_restore_rwkv(path: str, wkv_impl: str = "scan"):
    """-> (model in eval mode, config dict, metadata)."""
    tensors, meta = load_safetensors(path)
    if meta.get("arch") != "restore_rwkv" or "config" not in meta:
        raise ValueError(f"{path}: not a Restore-RWKV file of ours (metadata arch/config missing)")
    cfg = config_from_json(meta["config"])
    model = build_restore_rwkv(cfg, wkv_impl)
    model.load_state_dict(tensors)
    model.eval()
    return model, cfg, meta


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Parameters used by the forward pass (excludes the unused dwconv and conv5x5_reparam copies)."""
    n = 0
    for name, p in model.named_parameters():
        if trainable_only and (name.endswith("dwconv.weight") or "conv5x5_reparam" in name):
            continue
        n += p.numel()
    return n
