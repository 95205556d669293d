// The engine's own element-wise and per-token kernels, chosen per ISA at run time.
// Layer: vision/ops. Each has a plain reference in vision/ops/ref and a test of every ISA variant
// against it (tests/ops/test_kernels.cpp) on awkward sizes.
// PyTorch counterparts: the Bi-WKV CUDA op (RUN_CUDA), q_shift + the xk/xv/xr lerps of
// VRWKV_SpatialMix/ChannelMix, F.layer_norm, torch.mean over tokens.
//
// All kernels work on raw fp32 pointers, channels-last, never allocate and never start threads:
// each takes a range (rows or channels) so the caller splits the work over its threads, and every
// output element is computed by exactly one call (results do not depend on the thread count).
#pragma once

#include <cstdint>

#include "vision/core/cpu_features.h"
#include "vision/ops/ref/bi_wkv_ref.h"

namespace rv::ops {

// Bi-WKV (spec §2.6, kernel-exact including EPS) for ONE image, channels [c0, c1) only.
// decay, first: [C] raw spatial_decay / spatial_first (divided by T inside, in fp32, like PyTorch).
// k, v, y: [T, C]. gate: [T, C] or nullptr; when given, y = gate ⊙ wkv (the caller passes σ(r)).
// y must not alias k or v (it is used as scratch before being written).
// fp32, O(T) per channel, channels in SIMD lanes, stable for any k (shift by the channel's max k);
// channels whose |decay| would put the fp32 sums out of range use the fp64 reference instead.
struct BiWkvArgs {
    const float* decay = nullptr;
    const float* first = nullptr;
    const float* k = nullptr;
    const float* v = nullptr;
    const float* gate = nullptr;
    float* y = nullptr;
    int64_t T = 0, C = 0;
    int64_t c0 = 0, c1 = 0;
    BiWkvParams params;
};

// Q-Shift (spec §2.4, shift 1) fused with up to three lerp mixes:
// out[i] = x·mu[i] + q_shift(x)·(1 − mu[i]) for i < n_out, tokens [row0, row1) of one image.
// x: [H·W, C]; mu[i]: [C]; out[i]: [H·W, C] (only the given rows are written).
struct ShiftMixArgs {
    const float* x = nullptr;
    int64_t H = 0, W = 0, C = 0;
    int64_t row0 = 0, row1 = 0;
    int n_out = 0;  // 1..3
    const float* mu[3] = {nullptr, nullptr, nullptr};
    float* out[3] = {nullptr, nullptr, nullptr};
};

// LayerNorm over C for rows [row0, row1) of x [rows, C] (biased variance, eps), then optionally:
//   gate != nullptr:     r = gate ⊙ LN(x)               (key_norm followed by σ(r) ⊙ ·)
//   accumulate != false: y += (gamma ? gamma ⊙ r : r)   (post-norm residual; y is the stream)
//   otherwise            y  = r                          (y may alias x)
struct LayerNormArgs {
    const float* x = nullptr;
    const float* weight = nullptr;  // [C]
    const float* bias = nullptr;    // [C]
    float eps = 1e-5f;
    const float* gate = nullptr;   // [rows, C] or nullptr
    const float* gamma = nullptr;  // [C] or nullptr (only with accumulate)
    bool accumulate = false;
    float* y = nullptr;
    int64_t C = 0;
    int64_t row0 = 0, row1 = 0;
};

struct KernelTable {
    Isa isa = Isa::kScalar;
    void (*bi_wkv)(const BiWkvArgs&) = nullptr;
    void (*shift_mix)(const ShiftMixArgs&) = nullptr;
    void (*layer_norm)(const LayerNormArgs&) = nullptr;
    // out[c] = mean over t of x[t, c], x: [T, C], channels [c0, c1).
    void (*mean_tokens)(const float* x, int64_t T, int64_t C, int64_t c0, int64_t c1, float* out) = nullptr;
    // y[i] += s[c]·x[i] (s may be nullptr: y += x) for rows [row0, row1) of [rows, C].
    void (*add_scaled)(const float* x, const float* s, float* y, int64_t C, int64_t row0,
                       int64_t row1) = nullptr;
};

// The table for the active ISA (active_isa()); cheap to call.
const KernelTable& kernels();
// The table for a given level (tests, benchmarks); levels above detected_isa() throw kUnsupported.
const KernelTable& kernels_for(Isa isa);

}  // namespace rv::ops
