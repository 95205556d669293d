// Reference Q-Shift and lerp mixing. Layer: vision/ops/ref.
#include "vision/ops/ref/shift_ref.h"

#include <cstring>

namespace rv::ops::ref {

void q_shift(const float* x, float* y, int64_t B, int64_t H, int64_t W, int64_t C, int64_t shift) {
    // int(C * gamma * k) with gamma = 1/4, evaluated as the float product Python computes.
    const double g = 0.25;
    const int64_t b1 = static_cast<int64_t>(static_cast<double>(C) * g);
    const int64_t b2 = static_cast<int64_t>(static_cast<double>(C) * g * 2);
    const int64_t b3 = static_cast<int64_t>(static_cast<double>(C) * g * 3);
    const int64_t b4 = static_cast<int64_t>(static_cast<double>(C) * g * 4);
    for (int64_t b = 0; b < B; ++b) {
        for (int64_t h = 0; h < H; ++h) {
            for (int64_t w = 0; w < W; ++w) {
                float* out = y + ((b * H + h) * W + w) * C;
                auto src = [&](int64_t hh, int64_t ww) { return x + ((b * H + hh) * W + ww) * C; };
                for (int64_t c = 0; c < b1; ++c) out[c] = w - shift >= 0 ? src(h, w - shift)[c] : 0.0f;
                for (int64_t c = b1; c < b2; ++c) out[c] = w + shift < W ? src(h, w + shift)[c] : 0.0f;
                for (int64_t c = b2; c < b3; ++c) out[c] = h - shift >= 0 ? src(h - shift, w)[c] : 0.0f;
                for (int64_t c = b3; c < b4; ++c) out[c] = h + shift < H ? src(h + shift, w)[c] : 0.0f;
                for (int64_t c = b4; c < C; ++c) out[c] = src(h, w)[c];
            }
        }
    }
}

void lerp_mix(const float* x, const float* xs, const float* mu, float* out, int64_t rows, int64_t C) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < C; ++c) {
            const int64_t i = r * C + c;
            // Same association as PyTorch: x*mu + xs*(1 - mu), each product rounded to float.
            out[i] = x[i] * mu[c] + xs[i] * (1.0f - mu[c]);
        }
}

}  // namespace rv::ops::ref
