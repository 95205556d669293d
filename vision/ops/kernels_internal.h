// Internal to vision/ops: the per-ISA kernel tables and the Bi-WKV helpers they share.
// Layer: vision/ops. PyTorch counterpart: none (ATen's DispatchStub plays this role).
//
// The helpers live in kernels_common.cpp, compiled with the baseline flags, and are called from the
// per-ISA translation units: those must not instantiate any inline or template code that other
// translation units also instantiate (std::, rv::str, RV_CHECK), because the linker keeps one copy
// of such code and could pick the one built with -mavx512f for a CPU that lacks AVX-512.
#pragma once

#include <cstdint>

#include "vision/ops/kernels.h"

namespace rv::ops {

namespace scalar {
extern const KernelTable kTable;  // kernels_scalar.cpp
}
namespace avx2 {
extern const KernelTable kTable;  // x86/kernels_avx2.cpp
}
namespace avx512 {
extern const KernelTable kTable;  // x86/kernels_avx512.cpp
}

namespace detail {

// When a channel takes the fp32 path (bi_wkv_channel().fast):
// * Range. The fp32 Bi-WKV keeps its sums relative to e^{kmax} (kmax: the channel's largest key).
//   A weight spans at most e^{±|spatial_decay|} (|w|·T = |spatial_decay|) and e^{±|u|} for the
//   token itself, and e^{k - kmax} flushes to 0 below e^{-87.3} (fp32's smallest normal). With both
//   exponents bounded by 32 the flushed terms weigh ≤ e^{-87.3 + 2·32} ≈ 1e-10 relative to the
//   largest-key token (far below an fp32 ulp) and every sum stays below T·e^{64}·max|v|.
// * Conditioning. For w > 0 and chunks of S ≥ 2 tokens the kernel's leak terms make the weight of
//   an earlier token of the same chunk e^{w-x} + e^{x} - e^{x+w} (x = (t-j)·w, spec §2.6), a
//   difference of terms up to e^{w·S} that turns negative once w·S approaches 1, so the
//   denominator can cancel. Measured against the fp64 reference on random data: ≤ 1e-6 of max|v|
//   while w·S ≤ 1 (any |decay| ≤ 32), 5e-5 at w·S = 1.9, 3e-2 at 1.9 with S = 2. A published model
//   (|spatial_decay| ≲ 8, token_split ≥ 16) has w·S ≤ 8·2/17 < 1: always fp32. For w < 0 all
//   weights are positive and S = 1 has no leak terms: no condition.
// Channels outside these bounds take the fp64 reference.
constexpr float kBiWkvMaxExponent = 32.0f;
// Chunk states the fp32 kernel keeps on the stack (3 per chunk and lane); a token_split above this
// (never used by a published model: 16 or 32) takes the fp64 reference.
constexpr int64_t kBiWkvMaxChunks = 128;

// Per-channel constants of the recursion, rounded to fp32 from fp64 exponentials (as accurate as
// the reference's), and whether the channel may take the fp32 path (see above). An aggregate without default
// member initialisers: no inline constructor for the per-ISA units to emit (see above).
struct BiWkvChannel {
    float E;    // e^{w}, w = spatial_decay / T
    float Ei;   // e^{-w}
    float eu;   // e^{u}, u = spatial_first / T
    float EiS;  // e^{-w·S}, S the chunk length
    bool fast;
};
BiWkvChannel bi_wkv_channel(const BiWkvArgs& a, int64_t c, int64_t S);

// Throws rv::Error for arguments no kernel accepts (token_split < 1, ranges out of [0, C]).
void check_bi_wkv_args(const BiWkvArgs& a);

// Channels [c0, c1) through the fp64 reference, then the gate (y = gate ⊙ wkv).
void bi_wkv_reference_channels(const BiWkvArgs& a, int64_t c0, int64_t c1);

}  // namespace detail
}  // namespace rv::ops
