// A tiny SIMD vocabulary for AVX-512 (F, BW, DQ, VL): 16 fp32 lanes, tails through mask registers.
// Same names as simd_avx2.h / simd_scalar.h; see there. Layer: vision/ops (x86). PyTorch
// counterpart: at::vec::Vectorized<float> (AVX512).
//
// Include only from a translation unit compiled with the AVX-512 flags (vision/ops/x86/*_avx512.cpp).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace rv::ops::avx512 {

struct Vec {
    __m512 v;
};
struct Mask {
    __mmask16 m;
};
struct D {
    using V = Vec;
    using M = Mask;
    static constexpr int64_t kLanes = 16;
};

inline Mask first_n(D, int64_t n) {
    return {static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << static_cast<unsigned>(n)) - 1u)};
}
inline Vec load(D, const float* p) { return {_mm512_loadu_ps(p)}; }
// Masked-off lanes read as 0 and are not touched in memory (faults are suppressed).
inline Vec load(D, const float* p, Mask m) { return {_mm512_maskz_loadu_ps(m.m, p)}; }
inline void store(D, float* p, Vec x) { _mm512_storeu_ps(p, x.v); }
inline void store(D, float* p, Vec x, Mask m) { _mm512_mask_storeu_ps(p, m.m, x.v); }
inline Vec set1(D, float x) { return {_mm512_set1_ps(x)}; }
inline Vec zero(D) { return {_mm512_setzero_ps()}; }
// x in the active lanes, 0 elsewhere.
inline Vec keep(D, Vec x, Mask m) { return {_mm512_maskz_mov_ps(m.m, x.v)}; }

inline Vec operator+(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
inline Vec operator-(Vec a, Vec b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline Vec operator*(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
inline Vec operator/(Vec a, Vec b) { return {_mm512_div_ps(a.v, b.v)}; }
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }    // a·b + c
inline Vec fnma(Vec a, Vec b, Vec c) { return {_mm512_fnmadd_ps(a.v, b.v, c.v)}; }  // c − a·b
// max/min return b where either is NaN (x86 semantics), as in simd_avx2.h.
inline Vec max(Vec a, Vec b) { return {_mm512_max_ps(a.v, b.v)}; }
inline Vec min(Vec a, Vec b) { return {_mm512_min_ps(a.v, b.v)}; }

inline float reduce_add(Vec x) {
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(x.v), _mm512_extractf32x8_ps(x.v, 1));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// e^x with the same scheme and constants as simd_avx2.h's exp (Cephes expf).
inline Vec exp(Vec x) {
    const __m512 lo = _mm512_set1_ps(-87.33654475f), hi = _mm512_set1_ps(88.3762626647949f);
    const __m512 xc = _mm512_min_ps(hi, _mm512_max_ps(lo, x.v));  // NaN passes through
    const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i n = _mm512_cvttps_epi32(fx);  // fx is integral: truncation is exact
    const __m512 pow2n =
        _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
    const __m512 y = _mm512_mul_ps(p, pow2n);
    const __mmask16 below = _mm512_cmp_ps_mask(x.v, lo, _CMP_LT_OQ);  // x < lo (incl. -inf) → 0
    return {_mm512_mask_blend_ps(below, y, _mm512_setzero_ps())};
}

}  // namespace rv::ops::avx512
