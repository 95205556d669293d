// Depthwise convolution on channels-last maps with 8 AVX2 lanes over channels (dwconv_kernel.h).
// Layer: vision/ops (x86). Built with -mavx2 -mfma -ffp-contract=off; called only when
// detected_isa() >= kAvx2. Reference: ops::ref::conv2d (tests/ops/test_conv2d.cpp).
//
// Why our own: in NHWC a depthwise tap is a contiguous vector of channels, so the kernel is a
// plain multiply-add over kh·kw taps; interior pixels are computed four at a time so that each
// weight vector loaded serves four outputs. Pixels whose window crosses the border skip the
// missing taps (zero padding). No std:: code is instantiated here (see kernels_internal.h): the
// activations that need exp/erf are applied by ops::activation, built with the baseline flags.
#include <immintrin.h>

#include <cstdint>

#include "vision/ops/activation.h"
#include "vision/ops/dwconv_kernel.h"

namespace rv::ops::avx2 {
namespace {

inline __m256 act_simple(__m256 v, int act) {
    if (act == static_cast<int>(Activation::kRelu)) return _mm256_max_ps(v, _mm256_setzero_ps());
    if (act == static_cast<int>(Activation::kRelu6))
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
    return v;
}

inline float act_simple(float v, int act) {
    if (act == static_cast<int>(Activation::kRelu)) return v > 0.0f ? v : 0.0f;
    if (act == static_cast<int>(Activation::kRelu6)) return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    return v;
}

// Output pixels ow0 .. ow0+NP-1 of row oh, channels [c, c+8), taps rows [i0, i1), all columns valid.
template <int NP>
inline void interior8(const DwConvArgs& a, int64_t oh, int64_t ow0, int64_t c, int64_t i0, int64_t i1,
                      float* yrow, int fuse) {
    __m256 acc[NP];
    const __m256 b = a.bias ? _mm256_loadu_ps(a.bias + c) : _mm256_setzero_ps();
    for (int p = 0; p < NP; ++p) acc[p] = b;
    const int64_t C = a.C;
    for (int64_t i = i0; i < i1; ++i) {
        const int64_t ih = oh * a.stride_h - a.pad_t + i * a.dil_h;
        const float* xrow = a.x + ih * a.W * C + c;
        const float* wrow = a.w + i * a.kw * C + c;
        for (int64_t j = 0; j < a.kw; ++j) {
            const __m256 wv = _mm256_loadu_ps(wrow + j * C);
            const int64_t iw = ow0 * a.stride_w - a.pad_l + j * a.dil_w;
            for (int p = 0; p < NP; ++p)
                acc[p] = _mm256_fmadd_ps(_mm256_loadu_ps(xrow + (iw + p * a.stride_w) * C), wv, acc[p]);
        }
    }
    for (int p = 0; p < NP; ++p) {
        float* dst = yrow + (ow0 + p) * C + c;
        __m256 v = acc[p];
        if (fuse) {
            v = act_simple(v, a.act);
            if (a.residual)
                v = _mm256_add_ps(v,
                                  _mm256_loadu_ps(a.residual + ((oh - a.res_row0) * a.OW + ow0 + p) * C + c));
        }
        _mm256_storeu_ps(dst, v);
    }
}

// One output pixel, channels [c, c+8), with per-tap bounds checks.
inline void border8(const DwConvArgs& a, int64_t oh, int64_t ow, int64_t c, int64_t i0, int64_t i1,
                    float* yrow, int fuse) {
    __m256 acc = a.bias ? _mm256_loadu_ps(a.bias + c) : _mm256_setzero_ps();
    const int64_t C = a.C;
    for (int64_t i = i0; i < i1; ++i) {
        const int64_t ih = oh * a.stride_h - a.pad_t + i * a.dil_h;
        for (int64_t j = 0; j < a.kw; ++j) {
            const int64_t iw = ow * a.stride_w - a.pad_l + j * a.dil_w;
            if (iw < 0 || iw >= a.W) continue;
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(a.x + (ih * a.W + iw) * C + c),
                                  _mm256_loadu_ps(a.w + (i * a.kw + j) * C + c), acc);
        }
    }
    if (fuse) {
        acc = act_simple(acc, a.act);
        if (a.residual)
            acc = _mm256_add_ps(acc, _mm256_loadu_ps(a.residual + ((oh - a.res_row0) * a.OW + ow) * C + c));
    }
    _mm256_storeu_ps(yrow + ow * C + c, acc);
}

// One output pixel, one channel (the C % 8 tail), with bounds checks.
inline void scalar1(const DwConvArgs& a, int64_t oh, int64_t ow, int64_t c, int64_t i0, int64_t i1,
                    float* yrow, int fuse) {
    float acc = a.bias ? a.bias[c] : 0.0f;
    const int64_t C = a.C;
    for (int64_t i = i0; i < i1; ++i) {
        const int64_t ih = oh * a.stride_h - a.pad_t + i * a.dil_h;
        for (int64_t j = 0; j < a.kw; ++j) {
            const int64_t iw = ow * a.stride_w - a.pad_l + j * a.dil_w;
            if (iw < 0 || iw >= a.W) continue;
            acc = __builtin_fmaf(a.x[(ih * a.W + iw) * C + c], a.w[(i * a.kw + j) * C + c], acc);
        }
    }
    if (fuse) {
        acc = act_simple(acc, a.act);
        if (a.residual) acc += a.residual[((oh - a.res_row0) * a.OW + ow) * C + c];
    }
    yrow[ow * C + c] = acc;
}

}  // namespace

void dwconv(const DwConvArgs& a) {
    const int64_t C = a.C, C8 = C / 8 * 8;
    // relu / relu6 are applied in registers; other activations need exp/erf: ops::activation after
    // the row, then the residual.
    const bool simple = a.act == static_cast<int>(Activation::kNone) ||
                        a.act == static_cast<int>(Activation::kRelu) ||
                        a.act == static_cast<int>(Activation::kRelu6);
    const int fuse = simple ? 1 : 0;
    // Output columns whose whole window lies inside the image: [ow_lo, ow_hi).
    int64_t ow_lo = 0;
    while (ow_lo < a.OW && ow_lo * a.stride_w - a.pad_l < 0) ++ow_lo;
    int64_t ow_hi = a.OW;
    while (ow_hi > ow_lo && (ow_hi - 1) * a.stride_w - a.pad_l + (a.kw - 1) * a.dil_w >= a.W) --ow_hi;
    for (int64_t oh = a.oh0; oh < a.oh1; ++oh) {
        // Tap rows inside the image.
        int64_t i0 = 0, i1 = a.kh;
        while (i0 < i1 && oh * a.stride_h - a.pad_t + i0 * a.dil_h < 0) ++i0;
        while (i1 > i0 && oh * a.stride_h - a.pad_t + (i1 - 1) * a.dil_h >= a.H) --i1;
        float* yrow = a.y + oh * a.OW * C;
        for (int64_t c = 0; c < C8; c += 8) {
            for (int64_t ow = 0; ow < ow_lo; ++ow) border8(a, oh, ow, c, i0, i1, yrow, fuse);
            int64_t ow = ow_lo;
            for (; ow + 4 <= ow_hi; ow += 4) interior8<4>(a, oh, ow, c, i0, i1, yrow, fuse);
            for (; ow < ow_hi; ++ow) interior8<1>(a, oh, ow, c, i0, i1, yrow, fuse);
            for (ow = ow_hi > ow_lo ? ow_hi : ow_lo; ow < a.OW; ++ow)
                border8(a, oh, ow, c, i0, i1, yrow, fuse);
        }
        for (int64_t c = C8; c < C; ++c)
            for (int64_t ow = 0; ow < a.OW; ++ow) scalar1(a, oh, ow, c, i0, i1, yrow, fuse);
        if (!simple) {
            activation(yrow, a.OW * C, static_cast<Activation>(a.act), yrow);
            if (a.residual) {
                const float* r = a.residual + (oh - a.res_row0) * a.OW * C;
                const int64_t n = a.OW * C, n8 = n / 8 * 8;
                for (int64_t i = 0; i < n8; i += 8)
                    _mm256_storeu_ps(yrow + i,
                                     _mm256_add_ps(_mm256_loadu_ps(yrow + i), _mm256_loadu_ps(r + i)));
                for (int64_t i = n8; i < n; ++i) yrow[i] += r[i];
            }
        }
    }
}

}  // namespace rv::ops::avx2
