// Exact conversions between IEEE binary16 / bfloat16 bit patterns and float.
// Layer: vision/weights. PyTorch counterpart: c10/util/Half.h (fp16_ieee_to_fp32_value) and
// c10/util/BFloat16.h; spec: IEEE 754-2008 binary16.
//
// Widening to float is exact for both formats (every f16 and bf16 value is a float), so these are
// plain bit manipulations: no rounding, subnormals, infinities, signed zeros and NaN payloads kept.
// The narrowing direction (float -> f16, round to nearest even) exists for tests and converters.
#pragma once

#include <bit>
#include <cstdint>

namespace rv::weights {

inline float bf16_to_float(uint16_t h) {
    // bfloat16 is the upper half of a float.
    return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

inline float f16_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13);  // inf, or NaN with its payload
    } else if (exp != 0) {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);  // normal: rebias 15 -> 127
    } else if (mant == 0) {
        bits = sign;  // signed zero
    } else {
        // Subnormal f16 (mant * 2^-24) is a normal float: shift the leading 1 into the hidden bit.
        uint32_t e = 127 - 15 + 1;
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            --e;
        }
        bits = sign | (e << 23) | ((mant & 0x3FFu) << 13);
    }
    return std::bit_cast<float>(bits);
}

// Round-to-nearest-even float -> binary16; overflow gives inf, NaN stays a (quiet) NaN.
inline uint16_t float_to_f16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t abs = x & 0x7FFFFFFFu;
    if (abs >= 0x7F800000u)  // inf or NaN
        return static_cast<uint16_t>(sign | 0x7C00u |
                                     (abs > 0x7F800000u ? 0x200u | ((abs >> 13) & 0x3FFu) : 0u));
    if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds past 65504
    if (abs < 0x38800000u) {
        // Result is subnormal (or zero): value / 2^-24, rounded to nearest even.
        if (abs < 0x33000000u) return sign;  // below half the smallest subnormal
        const uint32_t e = abs >> 23;
        const uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
        const uint32_t shift = 126 - e;  // 14..24
        uint32_t r = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) ++r;
        return static_cast<uint16_t>(sign | r);
    }
    uint32_t r = ((abs >> 13) - ((127 - 15) << 10));
    const uint32_t rem = abs & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;  // may carry into the exponent: fine
    return static_cast<uint16_t>(sign | r);
}

}  // namespace rv::weights
