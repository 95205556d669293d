// Bicubic resize of channels-last maps, as F.interpolate(mode='bicubic', align_corners=False) on
// the CPU: Keys cubic with a = -0.75, half-pixel centres (src = (dst + 0.5)·scale − 0.5, NOT
// clamped at 0 for cubic), the four taps clamped to the border (replicate), no antialiasing.
// Layer: vision/ops. PyTorch counterpart: torch.nn.functional.interpolate(..., mode='bicubic')
// (upsample_bicubic2d). Used to feed Restore-RWKV super-resolution models (spec §5; our SR models
// upsample their low-resolution input this way, tools/rwkv_ref/restore_rwkv.py).
// A plain loop (it is its own reference); tests compare it with PyTorch fixtures.
#pragma once

#include <cstdint>

namespace rv::ops {

// x [B, H, W, C] -> y [B, OH, OW, C]. scale_h/scale_w: 1/scale_factor when the caller passed one
// (PyTorch then uses it instead of H/OH), else 0 (use H/OH, W/OW).
void bicubic_resize(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                    float* y, double scale_h = 0.0, double scale_w = 0.0);

}  // namespace rv::ops
