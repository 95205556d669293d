"""Golden fixtures for the C++ Restore-RWKV (tests/backbone/test_restore_rwkv.cpp, tests/heads/test_restorer.cpp).

    /usr/bin/python3 tools/make_restore_fixtures.py      # rewrites tests/fixtures/restore/ (deterministic)

Each case: a reduced-width Restore-RWKV with random weights (tools/rwkv_ref/restore_rwkv.py, official
state-dict keys) saved as ``<name>.safetensors`` (our metadata: arch, task, config) or, for
``gray_pth``, as a bare official-style ``<name>.pth`` state dict with no config (the C++ loader infers
it from the shapes). Every file's ``conv5x5_reparam.weight`` is overwritten with noise: the loader
must rebuild the Omni-Shift kernel from the branches. ``<name>.io.safetensors`` holds ``input``
[B, H, W, C] (channels-last), ``output`` (same layout, scale·H × scale·W) and, for ``rgb64``, every
intermediate the C++ model traces: ``patch_embed``, ``<level>.<i>`` ([B, H, W, C]) for every block and,
for the blocks in TRACED_BLOCKS, ``<level>.<i>.after_att`` and ``<level>.<i>.att.wkv0/1`` ([B, T, C]). References are computed in float64 from
the stored float32 weights (O(T) scan Bi-WKV with the kernel's EPS, TOKEN_SPLIT 64) and rounded to
float32. Inputs whose size is not a multiple of 8 go through ``forward_padded`` (reflect pad at the
bottom/right, crop back), as the C++ restorer does.
"""
from __future__ import annotations

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rwkv_ref.restore_rwkv import build_restore_rwkv, config_json_text  # noqa: E402
from rwkv_ref.safetensors_io import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "restore")

CASES = [
    # name, config, input (B, C, H, W), container, trace
    ("rgb64", {"dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1, "hidden_rate": 2},
     (1, 3, 64, 64), "safetensors", True),
    ("rgb_odd", {"dim": 4, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1, "hidden_rate": 2},
     (1, 3, 37, 70), "safetensors", False),
    ("gray_pth", {"inp_channels": 1, "out_channels": 1, "dim": 4, "num_blocks": [1, 2, 1, 1],
                  "num_refinement_blocks": 2},
     (2, 1, 24, 40), "pth", False),
    ("sr2", {"dim": 4, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 0, "hidden_rate": 2, "scale": 2},
     (1, 3, 13, 19), "safetensors", False),
]


TRACED_BLOCKS = ("encoder_level1.0.", "encoder_level3.0.", "decoder_level1.0.")


def randomise(model: torch.nn.Module, gen: torch.Generator):
    """Random but well-conditioned values for every parameter (not the init: layer norms, layer
    scales and biases away from 1/0, decays of either sign)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("spatial_decay"):
                p.copy_(torch.rand(p.shape, generator=gen) * 8 - 4)
            elif name.endswith("spatial_first"):
                p.copy_(torch.randn(p.shape, generator=gen))
            elif name.endswith("alpha"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
            elif ".ln" in name or "gamma" in name or "key_norm" in name:
                base = 1.0 if name.endswith("weight") or "gamma" in name else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def nhwc(t: torch.Tensor) -> torch.Tensor:
    return t.permute(0, 2, 3, 1).contiguous() if t.dim() == 4 else t.contiguous()


def main():
    os.makedirs(OUT, exist_ok=True)
    for idx, (name, cfg, shape, container, trace) in enumerate(CASES):
        gen = torch.Generator().manual_seed(1000 + idx)
        model = build_restore_rwkv(cfg, "scan")
        randomise(model, gen)
        model.eval()
        sd = {k: v.detach().float().clone() for k, v in model.state_dict().items()}
        for k in sd:          # the stored reparam tensor must never be trusted
            if k.endswith("conv5x5_reparam.weight"):
                sd[k] = torch.randn(sd[k].shape, generator=gen)
        if container == "pth":
            torch.save(sd, os.path.join(OUT, name + ".pth"))
        else:
            meta = {"format": "rwkv-vision", "arch": "restore_rwkv", "model_id": name,
                    "task": "sr" if cfg.get("scale", 1) > 1 else "denoise", "config": config_json_text(cfg)}
            save_safetensors(os.path.join(OUT, name + ".safetensors"), sd, meta)
        model.load_state_dict(sd)
        model = model.double()
        x = torch.rand(shape, generator=gen, dtype=torch.float32)
        rec = {} if trace else None
        with torch.no_grad():
            y = model.forward_padded(x.double(), rec)
        io = {"input": nhwc(x), "output": nhwc(y.float())}
        if rec:
            for k, v in rec.items():
                if k in ("input", "output"):
                    continue
                inner = k.split(".")[2:]     # "<level>.<i>.att.wkv0" -> ["att", "wkv0"]
                if inner and not k.startswith(TRACED_BLOCKS):
                    continue                 # keep the fixture small: every block's output, inner
                io[k] = nhwc(v.float())      # tensors of a few blocks only
        save_safetensors(os.path.join(OUT, name + ".io.safetensors"), io,
                         {"config": config_json_text(cfg), "container": container})
        print(name, tuple(y.shape), "max|y|", float(y.abs().max()), "tensors", len(io))


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
