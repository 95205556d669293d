// Bicubic resampling of a channels-last grid, as torch.nn.functional.interpolate(mode='bicubic',
// align_corners=False) computes it: cubic convolution with A = −0.75, source coordinate
// (o + 0.5)·(in/out) − 0.5 (not clamped), taps clamped to the border, no antialiasing.
// Layer: vision/ops/ref. PyTorch counterpart: mmcls resize_pos_embed → F.interpolate. Spec §2.2.
#pragma once

#include <cstdint>

namespace rv::ops::ref {

// src [in_h·in_w, C] -> dst [out_h·out_w, C] (rows of tokens, row-major grid).
void bicubic_resize(const float* src, float* dst, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                    int64_t C);

}  // namespace rv::ops::ref
