// A tiny SIMD vocabulary for AVX2 + FMA: 8 fp32 lanes. The kernels in vision/ops/kernels_impl.h are
// written once against this vocabulary (same names in simd_scalar.h and simd_avx512.h) and compiled
// once per ISA. Layer: vision/ops (x86). PyTorch counterpart: at::vec::Vectorized<float> (AVX2).
//
// Include only from a translation unit compiled with -mavx2 -mfma (vision/ops/x86/*_avx2.cpp).
// Everything is inline in namespace rv::ops::avx2, so the AVX2 copies never meet the other ISAs'
// copies at link time (distinct names, no ODR merging of code built with different flags).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace rv::ops::avx2 {

struct Vec {
    __m256 v;
};
// Lane l is active when l < n (tails of a channel range).
struct Mask {
    __m256i m;
};
struct D {
    using V = Vec;
    using M = Mask;
    static constexpr int64_t kLanes = 8;
};

inline Mask first_n(D, int64_t n) {
    const int32_t k = n >= 8 ? 8 : static_cast<int32_t>(n);
    return {_mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))};
}
inline Vec load(D, const float* p) { return {_mm256_loadu_ps(p)}; }
// Masked-off lanes read as 0 and are not touched in memory (no fault past the end of a buffer).
inline Vec load(D, const float* p, Mask m) { return {_mm256_maskload_ps(p, m.m)}; }
inline void store(D, float* p, Vec x) { _mm256_storeu_ps(p, x.v); }
inline void store(D, float* p, Vec x, Mask m) { _mm256_maskstore_ps(p, m.m, x.v); }
inline Vec set1(D, float x) { return {_mm256_set1_ps(x)}; }
inline Vec zero(D) { return {_mm256_setzero_ps()}; }
// x in the active lanes, 0 elsewhere.
inline Vec keep(D, Vec x, Mask m) { return {_mm256_and_ps(x.v, _mm256_castsi256_ps(m.m))}; }

inline Vec operator+(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
inline Vec operator/(Vec a, Vec b) { return {_mm256_div_ps(a.v, b.v)}; }
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }    // a·b + c
inline Vec fnma(Vec a, Vec b, Vec c) { return {_mm256_fnmadd_ps(a.v, b.v, c.v)}; }  // c − a·b
// max/min return b where either is NaN (x86 semantics); callers put the value to keep second.
inline Vec max(Vec a, Vec b) { return {_mm256_max_ps(a.v, b.v)}; }
inline Vec min(Vec a, Vec b) { return {_mm256_min_ps(a.v, b.v)}; }

inline float reduce_add(Vec x) {
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(x.v), _mm256_extractf128_ps(x.v, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// e^x, Cephes' expf scheme: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact n·ln2),
// a degree-5 polynomial for e^r, then 2^n through the exponent bits. ≤ 2 ulp on the normal range.
// Below ln(2^-126) the result is 0 (also for -inf); NaN stays NaN; above 88.37 it is +inf.
inline Vec exp(Vec x) {
    const __m256 lo = _mm256_set1_ps(-87.33654475f), hi = _mm256_set1_ps(88.3762626647949f);
    const __m256 xc = _mm256_min_ps(hi, _mm256_max_ps(lo, x.v));  // NaN passes through
    const __m256 fx = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i n = _mm256_cvttps_epi32(fx);  // fx is integral: truncation is exact
    const __m256 pow2n =
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
    const __m256 y = _mm256_mul_ps(p, pow2n);
    return {_mm256_andnot_ps(_mm256_cmp_ps(x.v, lo, _CMP_LT_OQ), y)};  // x < lo (incl. -inf) → 0
}

}  // namespace rv::ops::avx2
