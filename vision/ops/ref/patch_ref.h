// Patch extraction for a non-overlapping Conv2d(kernel = stride = p) after mmcv's 'corner'
// adaptive padding (zeros at the bottom/right up to a multiple of p). The conv then becomes one
// matmul: tokens [T, C_in·p·p] × weightᵀ. Layer: vision/ops/ref.
// PyTorch counterpart: mmcv.cnn.bricks.transformer.PatchEmbed (AdaptivePadding + projection). Spec §2.2.
#pragma once

#include <cstdint>

namespace rv::ops::ref {

// Grid size after corner padding: ceil(H / p) × ceil(W / p).
inline int64_t patch_grid(int64_t size, int64_t p) { return (size + p - 1) / p; }

// img [C_in, H, W] -> cols [Hp·Wp, C_in·p·p], column order (c_in, ky, kx) to match a Conv2d
// weight [C_out, C_in, p, p] flattened row-major.
void im2col_patches(const float* img, float* cols, int64_t C_in, int64_t H, int64_t W, int64_t p);

}  // namespace rv::ops::ref
