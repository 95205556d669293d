// Q-Shift: each quarter of the channels takes the value of one spatial neighbour on the token grid,
// and the lerp mix x·μ + shift(x)·(1 − μ) that VRWKV's spatial and channel mix apply to it.
// Layer: vision/ops/ref. PyTorch counterpart: q_shift() and the xk/xv/xr lines of
// VRWKV_SpatialMix.jit_func in OpenGVLab/Vision-RWKV .../backbones/vrwkv.py. Spec §2.4.
#pragma once

#include <cstdint>

namespace rv::ops::ref {

// x, y: [B, H·W, C] (tokens row-major on an H×W grid). Channel groups use the official
// boundaries int(C·k/4): [0,b1) from the left neighbour (w−s), [b1,b2) right (w+s),
// [b2,b3) upper (h−s), [b3,b4) lower (h+s), [b4,C) unchanged; out-of-grid reads are zero.
void q_shift(const float* x, float* y, int64_t B, int64_t H, int64_t W, int64_t C, int64_t shift = 1);

// out = x·mu + xs·(1 − mu) for tokens [rows, C] and mu [C].
void lerp_mix(const float* x, const float* xs, const float* mu, float* out, int64_t rows, int64_t C);

}  // namespace rv::ops::ref
