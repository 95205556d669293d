// Bicubic resize (PyTorch upsample_bicubic2d semantics). Layer: vision/ops.
#include "vision/ops/bicubic_resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "vision/core/error.h"

namespace rv::ops {
namespace {
constexpr float kA = -0.75f;

float cubic1(float x) { return ((kA + 2.0f) * x - (kA + 3.0f)) * x * x + 1.0f; }          // |x| <= 1
float cubic2(float x) { return ((kA * x - 5.0f * kA) * x + 8.0f * kA) * x - 4.0f * kA; }  // 1 < |x| < 2

struct Taps {
    int64_t idx[4];
    float w[4];
};

std::vector<Taps> taps(int64_t in, int64_t out, double scale_given) {
    const float scale = scale_given > 0.0
                            ? static_cast<float>(scale_given)
                            : static_cast<float>(static_cast<double>(in) / static_cast<double>(out));
    std::vector<Taps> t(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
        const float real = scale * (static_cast<float>(o) + 0.5f) - 0.5f;
        const float fl = std::floor(real);
        const float f = real - fl;
        const auto i0 = static_cast<int64_t>(fl);
        Taps& tp = t[static_cast<size_t>(o)];
        tp.w[0] = cubic2(f + 1.0f);
        tp.w[1] = cubic1(f);
        tp.w[2] = cubic1(1.0f - f);
        tp.w[3] = cubic2(2.0f - f);
        for (int k = 0; k < 4; ++k) tp.idx[k] = std::clamp<int64_t>(i0 - 1 + k, 0, in - 1);
    }
    return t;
}
}  // namespace

void bicubic_resize(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                    float* y, double scale_h, double scale_w) {
    RV_CHECK(B > 0 && H > 0 && W > 0 && C > 0 && OH > 0 && OW > 0, ErrorCode::kInvalidArgument,
             "bicubic_resize: empty input or output (", H, "x", W, " -> ", OH, "x", OW, ")");
    const auto ty = taps(H, OH, scale_h), tx = taps(W, OW, scale_w);
    for (int64_t b = 0; b < B; ++b) {
        const float* xb = x + b * H * W * C;
        float* yb = y + b * OH * OW * C;
        for (int64_t oy = 0; oy < OH; ++oy) {
            const Taps& vy = ty[static_cast<size_t>(oy)];
            float* out = yb + oy * OW * C;
            for (int64_t ox = 0; ox < OW; ++ox) {
                const Taps& vx = tx[static_cast<size_t>(ox)];
                for (int64_t c = 0; c < C; ++c) {
                    // along x on each of the four rows, then along y (PyTorch's order)
                    float acc = 0.0f;
                    for (int k = 0; k < 4; ++k) {
                        const float* r = xb + vy.idx[k] * W * C + c;
                        const float h = r[vx.idx[0] * C] * vx.w[0] + r[vx.idx[1] * C] * vx.w[1] +
                                        r[vx.idx[2] * C] * vx.w[2] + r[vx.idx[3] * C] * vx.w[3];
                        acc += h * vy.w[k];
                    }
                    out[ox * C + c] = acc;
                }
            }
        }
    }
}

}  // namespace rv::ops
