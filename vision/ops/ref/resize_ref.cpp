// Reference bicubic grid resize (PyTorch semantics). Layer: vision/ops/ref.
#include "vision/ops/ref/resize_ref.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace rv::ops::ref {
namespace {

// Keys' cubic convolution kernel with A = -0.75 (PyTorch's upsample_bicubic2d).
std::array<double, 4> cubic_coefficients(double t) {
    constexpr double A = -0.75;
    auto near = [](double x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };       // |x| <= 1
    auto far = [](double x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };  // 1 < |x| < 2
    return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

struct Taps {
    std::array<int64_t, 4> index;
    std::array<double, 4> weight;
};

std::vector<Taps> make_taps(int64_t in, int64_t out) {
    std::vector<Taps> taps(static_cast<size_t>(out));
    // PyTorch computes the scale and source coordinate in float for float tensors.
    const float scale = static_cast<float>(in) / static_cast<float>(out);
    for (int64_t o = 0; o < out; ++o) {
        const float real = scale * (static_cast<float>(o) + 0.5f) - 0.5f;
        const float fl = std::floor(real);
        const auto base = static_cast<int64_t>(fl);
        const double t = static_cast<double>(real - fl);
        Taps& tp = taps[static_cast<size_t>(o)];
        tp.weight = cubic_coefficients(t);
        for (int64_t j = 0; j < 4; ++j)
            tp.index[static_cast<size_t>(j)] = std::clamp<int64_t>(base - 1 + j, 0, in - 1);
    }
    return taps;
}

}  // namespace

void bicubic_resize(const float* src, float* dst, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                    int64_t C) {
    if (in_h == out_h && in_w == out_w) {
        std::copy(src, src + in_h * in_w * C, dst);
        return;
    }
    const std::vector<Taps> ty = make_taps(in_h, out_h), tx = make_taps(in_w, out_w);
    std::vector<double> acc(static_cast<size_t>(C));
    for (int64_t oy = 0; oy < out_h; ++oy) {
        const Taps& a = ty[static_cast<size_t>(oy)];
        for (int64_t ox = 0; ox < out_w; ++ox) {
            const Taps& b = tx[static_cast<size_t>(ox)];
            std::fill(acc.begin(), acc.end(), 0.0);
            for (size_t i = 0; i < 4; ++i) {
                for (size_t j = 0; j < 4; ++j) {
                    const double wgt = a.weight[i] * b.weight[j];
                    const float* s = src + (a.index[i] * in_w + b.index[j]) * C;
                    for (int64_t c = 0; c < C; ++c)
                        acc[static_cast<size_t>(c)] += wgt * static_cast<double>(s[c]);
                }
            }
            float* d = dst + (oy * out_w + ox) * C;
            for (int64_t c = 0; c < C; ++c) d[c] = static_cast<float>(acc[static_cast<size_t>(c)]);
        }
    }
}

}  // namespace rv::ops::ref
