// The SIMD vocabulary of simd_avx2.h / simd_avx512.h with one lane: RV_MAX_ISA=scalar runs the very
// same kernel templates (vision/ops/kernels_impl.h) without vector instructions, and serves CPUs
// without AVX2. Layer: vision/ops. PyTorch counterpart: at::vec::Vectorized<float> (DEFAULT).
#pragma once

#include <cstdint>
#include <cstring>

namespace rv::ops::scalar {

// A struct, not a bare float, so that the kernels' unqualified calls (exp, max, fma) find these
// functions by argument-dependent lookup and never the <cmath> ones.
struct Vec {
    float v;
};
struct Mask {
    bool m;
};
struct D {
    using V = Vec;
    using M = Mask;
    static constexpr int64_t kLanes = 1;
};

inline Mask first_n(D, int64_t n) { return {n > 0}; }
inline Vec load(D, const float* p) { return {*p}; }
inline Vec load(D, const float* p, Mask m) { return {m.m ? *p : 0.0f}; }
inline void store(D, float* p, Vec x) { *p = x.v; }
inline void store(D, float* p, Vec x, Mask m) {
    if (m.m) *p = x.v;
}
inline Vec set1(D, float x) { return {x}; }
inline Vec zero(D) { return {0.0f}; }
// x in the active lanes, 0 elsewhere.
inline Vec keep(D, Vec x, Mask m) { return {m.m ? x.v : 0.0f}; }

inline Vec operator+(Vec a, Vec b) { return {a.v + b.v}; }
inline Vec operator-(Vec a, Vec b) { return {a.v - b.v}; }
inline Vec operator*(Vec a, Vec b) { return {a.v * b.v}; }
inline Vec operator/(Vec a, Vec b) { return {a.v / b.v}; }
// Unfused (two roundings): a correctly rounded software fma would be very slow without FMA hardware.
inline Vec fma(Vec a, Vec b, Vec c) { return {a.v * b.v + c.v}; }
inline Vec fnma(Vec a, Vec b, Vec c) { return {c.v - a.v * b.v}; }
// x86 semantics: b where either is NaN.
inline Vec max(Vec a, Vec b) { return {a.v > b.v ? a.v : b.v}; }
inline Vec min(Vec a, Vec b) { return {a.v < b.v ? a.v : b.v}; }

inline float reduce_add(Vec x) { return x.v; }

// e^x with the scheme and constants of simd_avx2.h's exp (Cephes expf), one lane.
inline Vec exp(Vec x) {
    constexpr float lo = -87.33654475f, hi = 88.3762626647949f;
    if (x.v < lo) return {0.0f};  // also -inf
    const float xc = x.v > hi ? hi : x.v;
    const float fx = __builtin_rintf(xc * 1.44269504088896341f);
    float r = xc - fx * 0.693359375f;
    r = r - fx * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + (r + 1.0f);
    if (fx != fx) return {fx};  // NaN
    const auto bits = static_cast<uint32_t>(static_cast<int32_t>(fx) + 127) << 23;
    float pow2n;
    std::memcpy(&pow2n, &bits, sizeof pow2n);
    return {p * pow2n};
}

}  // namespace rv::ops::scalar
