// Data-movement and element-wise ops on NHWC maps (plain loops). Layer: vision/ops.
#include "vision/ops/dense_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "vision/core/error.h"

namespace rv::ops {
namespace {

size_t bytes(int64_t n) { return static_cast<size_t>(n) * sizeof(float); }

// PyTorch's area_pixel_compute_scale (float, as its CPU kernel keeps it for float tensors).
float resize_scale(int64_t in, int64_t out, bool align_corners, double scale_factor) {
    if (align_corners) return out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
    if (scale_factor > 0.0) return static_cast<float>(1.0 / scale_factor);
    return static_cast<float>(in) / static_cast<float>(out);
}

// One axis of a bilinear resize: the two source indices and their weights per output index.
struct Taps {
    std::vector<int64_t> i0, i1;
    std::vector<float> w0, w1;
};

Taps linear_taps(int64_t in, int64_t out, bool align_corners, double scale_factor) {
    Taps t;
    const float scale = resize_scale(in, out, align_corners, scale_factor);
    for (int64_t d = 0; d < out; ++d) {
        float src;
        if (align_corners) {
            src = scale * static_cast<float>(d);
        } else {
            // scale·(d + 0.5) is evaluated in double in PyTorch (d + 0.5 is a double), then stored as float.
            src = static_cast<float>(static_cast<double>(scale) * (static_cast<double>(d) + 0.5) - 0.5);
            if (src < 0.0f) src = 0.0f;
        }
        const int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
        const float lambda = std::min(std::max(src - static_cast<float>(i0), 0.0f), 1.0f);
        t.i0.push_back(i0);
        t.i1.push_back(i0 + (i0 < in - 1 ? 1 : 0));
        t.w0.push_back(1.0f - lambda);
        t.w1.push_back(lambda);
    }
    return t;
}

int64_t nearest_index(int64_t d, int64_t in, int64_t out, double scale_factor) {
    if (out == in) return d;
    if (out == 2 * in) return d >> 1;
    const float scale = scale_factor > 0.0 ? static_cast<float>(1.0 / scale_factor)
                                           : static_cast<float>(in) / static_cast<float>(out);
    return std::min(static_cast<int64_t>(std::floor(static_cast<float>(d) * scale)), in - 1);
}

// A scale factor given with the sizes must be the one PyTorch derived them from:
// out = floor(in · scale_factor) (F.interpolate, in double).
void check_scale_factor(const char* op, const char* axis, int64_t in, int64_t out, double scale_factor) {
    if (scale_factor <= 0.0) return;
    const auto derived = static_cast<int64_t>(std::floor(static_cast<double>(in) * scale_factor));
    RV_CHECK(derived == out, ErrorCode::kInvalidArgument, op, ": scale_factor ", scale_factor, " on ", axis,
             " makes ", derived, " from ", in, ", not ", out,
             ": pass the factor as F.interpolate / nn.Upsample take it (out/in, e.g. 2.0 for a x2 upsample), "
             "or 0 when the output size was given");
}

void check_sizes(const char* op, int64_t B, int64_t H, int64_t W, int64_t C) {
    RV_CHECK(B >= 0 && H > 0 && W > 0 && C > 0, ErrorCode::kInvalidArgument, op, ": bad input size [", B,
             ", ", H, ", ", W, ", ", C, "] (NHWC); every size must be positive");
}

}  // namespace

void pixel_shuffle(const float* x, int64_t B, int64_t H, int64_t W, int64_t C_in, int64_t r, float* y) {
    check_sizes("pixel_shuffle", B, H, W, C_in);
    RV_CHECK(r > 0 && C_in % (r * r) == 0, ErrorCode::kShapeMismatch, "pixel_shuffle: ", C_in,
             " input channels are not a multiple of upscale_factor² = ", r * r);
    const int64_t C = C_in / (r * r), OW = W * r;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < r; ++i)
                for (int64_t w = 0; w < W; ++w)
                    for (int64_t j = 0; j < r; ++j) {
                        const float* src = x + ((b * H + h) * W + w) * C_in + i * r + j;
                        float* dst = y + ((b * H * r + h * r + i) * OW + w * r + j) * C;
                        for (int64_t c = 0; c < C; ++c) dst[c] = src[c * r * r];
                    }
}

void pixel_unshuffle(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t r, float* y) {
    check_sizes("pixel_unshuffle", B, H, W, C);
    RV_CHECK(r > 0 && H % r == 0 && W % r == 0, ErrorCode::kShapeMismatch, "pixel_unshuffle: ", H, "x", W,
             " is not a multiple of downscale_factor ", r, " (pad the input first)");
    const int64_t OH = H / r, OW = W / r, OC = C * r * r;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < OH; ++h)
            for (int64_t w = 0; w < OW; ++w) {
                float* dst = y + ((b * OH + h) * OW + w) * OC;
                for (int64_t i = 0; i < r; ++i)
                    for (int64_t j = 0; j < r; ++j) {
                        const float* src = x + ((b * H + h * r + i) * W + w * r + j) * C;
                        for (int64_t c = 0; c < C; ++c) dst[c * r * r + i * r + j] = src[c];
                    }
            }
}

void bilinear_resize(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                     bool align_corners, float* y, double scale_h, double scale_w) {
    check_sizes("bilinear_resize", B, H, W, C);
    RV_CHECK(OH > 0 && OW > 0, ErrorCode::kInvalidArgument, "bilinear_resize: bad output size ", OH, "x", OW);
    check_scale_factor("bilinear_resize", "H", H, OH, scale_h);
    check_scale_factor("bilinear_resize", "W", W, OW, scale_w);
    const Taps th = linear_taps(H, OH, align_corners, scale_h);
    const Taps tw = linear_taps(W, OW, align_corners, scale_w);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t oh = 0; oh < OH; ++oh) {
            const auto uh = static_cast<size_t>(oh);
            const float* r0 = x + (b * H + th.i0[uh]) * W * C;
            const float* r1 = x + (b * H + th.i1[uh]) * W * C;
            const float h0 = th.w0[uh], h1 = th.w1[uh];
            for (int64_t ow = 0; ow < OW; ++ow) {
                const auto uw = static_cast<size_t>(ow);
                const int64_t a = tw.i0[uw] * C, e = tw.i1[uw] * C;
                const float w0 = tw.w0[uw], w1 = tw.w1[uw];
                float* dst = y + ((b * OH + oh) * OW + ow) * C;
                for (int64_t c = 0; c < C; ++c)
                    dst[c] = h0 * (w0 * r0[a + c] + w1 * r0[e + c]) + h1 * (w0 * r1[a + c] + w1 * r1[e + c]);
            }
        }
}

void nearest_resize(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                    float* y, double scale_h, double scale_w) {
    check_sizes("nearest_resize", B, H, W, C);
    RV_CHECK(OH > 0 && OW > 0, ErrorCode::kInvalidArgument, "nearest_resize: bad output size ", OH, "x", OW);
    check_scale_factor("nearest_resize", "H", H, OH, scale_h);
    check_scale_factor("nearest_resize", "W", W, OW, scale_w);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t oh = 0; oh < OH; ++oh) {
            const int64_t ih = nearest_index(oh, H, OH, scale_h);
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw = nearest_index(ow, W, OW, scale_w);
                std::memcpy(y + ((b * OH + oh) * OW + ow) * C, x + ((b * H + ih) * W + iw) * C, bytes(C));
            }
        }
}

void pad_reflect(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t pad_t, int64_t pad_b,
                 int64_t pad_l, int64_t pad_r, float* y) {
    check_sizes("pad_reflect", B, H, W, C);
    RV_CHECK(pad_t >= 0 && pad_b >= 0 && pad_l >= 0 && pad_r >= 0 && pad_t < H && pad_b < H && pad_l < W &&
                 pad_r < W,
             ErrorCode::kInvalidArgument, "pad_reflect: padding (top ", pad_t, ", bottom ", pad_b, ", left ",
             pad_l, ", right ", pad_r, ") must be >= 0 and smaller than the input's ", H, "x", W);
    const int64_t OH = H + pad_t + pad_b, OW = W + pad_l + pad_r;
    auto reflect = [](int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; };
    for (int64_t b = 0; b < B; ++b)
        for (int64_t oh = 0; oh < OH; ++oh) {
            const int64_t ih = reflect(oh - pad_t, H);
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t iw = reflect(ow - pad_l, W);
                std::memcpy(y + ((b * OH + oh) * OW + ow) * C, x + ((b * H + ih) * W + iw) * C, bytes(C));
            }
        }
}

void crop(const float* x, int64_t B, int64_t H, int64_t W, int64_t C, int64_t top, int64_t left, int64_t OH,
          int64_t OW, float* y) {
    check_sizes("crop", B, H, W, C);
    RV_CHECK(top >= 0 && left >= 0 && OH > 0 && OW > 0 && top + OH <= H && left + OW <= W,
             ErrorCode::kInvalidArgument, "crop: window ", OH, "x", OW, " at (", top, ", ", left,
             ") does not fit in ", H, "x", W);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t oh = 0; oh < OH; ++oh)
            std::memcpy(y + (b * OH + oh) * OW * C, x + ((b * H + top + oh) * W + left) * C, bytes(OW * C));
}

void copy_channels(const float* src, int64_t src_C, int64_t src_c0, float* dst, int64_t dst_C, int64_t dst_c0,
                   int64_t n, int64_t rows) {
    RV_ASSERT(src_c0 >= 0 && dst_c0 >= 0 && n >= 0 && src_c0 + n <= src_C && dst_c0 + n <= dst_C);
    for (int64_t r = 0; r < rows; ++r)
        std::memcpy(dst + r * dst_C + dst_c0, src + r * src_C + src_c0, bytes(n));
}

void concat_channels(const float* a, int64_t Ca, const float* b, int64_t Cb, int64_t rows, float* y) {
    copy_channels(a, Ca, 0, y, Ca + Cb, 0, Ca, rows);
    copy_channels(b, Cb, 0, y, Ca + Cb, Ca, Cb, rows);
}

void global_avg_pool(const float* x, int64_t B, int64_t HW, int64_t C, float* y) {
    RV_ASSERT(HW > 0 && C > 0);
    std::vector<double> acc(static_cast<size_t>(C));
    for (int64_t b = 0; b < B; ++b) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t t = 0; t < HW; ++t) {
            const float* row = x + (b * HW + t) * C;
            for (int64_t c = 0; c < C; ++c) acc[static_cast<size_t>(c)] += static_cast<double>(row[c]);
        }
        for (int64_t c = 0; c < C; ++c)
            y[b * C + c] = static_cast<float>(acc[static_cast<size_t>(c)] / static_cast<double>(HW));
    }
}

void scale_channels(const float* x, const float* gate, int64_t B, int64_t HW, int64_t C, float* y) {
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < HW; ++t) {
            const float* xr = x + (b * HW + t) * C;
            float* yr = y + (b * HW + t) * C;
            for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * gate[b * C + c];
        }
}

void channel_affine(const float* x, const float* scale, const float* shift, int64_t rows, int64_t C, float* y,
                    Activation act) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < C; ++c) {
            float v = x[r * C + c];
            if (scale) v *= scale[c];
            if (shift) v += shift[c];
            y[r * C + c] = activate(act, v);
        }
}

void add(const float* a, const float* b, int64_t n, float* y) {
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, int64_t n, float* y) {
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}

}  // namespace rv::ops
