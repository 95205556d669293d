// Plain reference 2-D convolution on channels-last maps: the oracle for ops::Conv2d (oneDNN and the
// AVX2 depthwise kernel). Layer: vision/ops/ref — clarity over speed.
// PyTorch counterpart: torch.nn.functional.conv2d (zero padding, stride, dilation, groups) followed
// by an activation and an optional residual add.
#pragma once

#include <cstdint>

#include "vision/ops/conv2d.h"

namespace rv::ops::ref {

// x [B, H, W, shape.in], weight [out, in/groups, kh, kw] (PyTorch layout), bias [out] or nullptr ->
// y [B, OH, OW, out] = act(conv + bias) [+ residual]. Accumulates in double. y must not alias x
// (residual may alias y).
void conv2d(const float* x, const float* weight, const float* bias, const Conv2dShape& shape, int64_t B,
            int64_t H, int64_t W, float* y, const Conv2dPost& post = {});

}  // namespace rv::ops::ref
