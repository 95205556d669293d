// Non-overlapping patch extraction with corner zero-padding. Layer: vision/ops/ref.
#include "vision/ops/ref/patch_ref.h"

namespace rv::ops::ref {

void im2col_patches(const float* img, float* cols, int64_t C_in, int64_t H, int64_t W, int64_t p) {
    const int64_t Hp = patch_grid(H, p), Wp = patch_grid(W, p);
    const int64_t K = C_in * p * p;
    for (int64_t hp = 0; hp < Hp; ++hp)
        for (int64_t wp = 0; wp < Wp; ++wp) {
            float* row = cols + (hp * Wp + wp) * K;
            for (int64_t c = 0; c < C_in; ++c)
                for (int64_t ky = 0; ky < p; ++ky) {
                    const int64_t y = hp * p + ky;
                    for (int64_t kx = 0; kx < p; ++kx) {
                        const int64_t x = wp * p + kx;
                        row[(c * p + ky) * p + kx] = (y < H && x < W) ? img[(c * H + y) * W + x] : 0.0f;
                    }
                }
        }
}

}  // namespace rv::ops::ref
