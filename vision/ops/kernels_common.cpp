// Argument checks, per-channel constants and the fp64 fallback of the Bi-WKV kernels, shared by
// every ISA. Layer: vision/ops. Built with the baseline flags (see kernels_internal.h).
#include <cmath>

#include "vision/core/error.h"
#include "vision/ops/kernels_internal.h"
#include "vision/ops/ref/bi_wkv_ref.h"

namespace rv::ops::detail {

BiWkvChannel bi_wkv_channel(const BiWkvArgs& a, int64_t c, int64_t S) {
    // w and u in fp32 as the PyTorch module divides them (spatial_decay / T), then the
    // exponentials in fp64 like the reference, rounded once.
    const float Tf = static_cast<float>(a.T);
    const float w = a.decay[c] / Tf, u = a.first[c] / Tf;
    const auto wd = static_cast<double>(w);
    BiWkvChannel ch{};
    ch.E = static_cast<float>(std::exp(wd));
    ch.Ei = static_cast<float>(std::exp(-wd));
    ch.eu = static_cast<float>(std::exp(static_cast<double>(u)));
    ch.EiS = static_cast<float>(std::exp(-wd * static_cast<double>(S)));
    // Bounds of kernels_internal.h; written so that NaN takes the reference path too.
    const bool in_range = std::fabs(a.decay[c]) <= kBiWkvMaxExponent && std::fabs(u) <= kBiWkvMaxExponent;
    const bool conditioned = S == 1 || wd * static_cast<double>(S) <= 1.0;
    ch.fast = in_range && conditioned;
    return ch;
}

void check_bi_wkv_args(const BiWkvArgs& a) {
    RV_CHECK(a.params.token_split >= 1, ErrorCode::kInvalidArgument, "bi_wkv: token_split must be >= 1, got ",
             a.params.token_split);
    RV_CHECK(a.T >= 0 && 0 <= a.c0 && a.c0 <= a.c1 && a.c1 <= a.C, ErrorCode::kInvalidArgument,
             "bi_wkv: channel range [", a.c0, ", ", a.c1, ") is not within [0, ", a.C, ") or T = ", a.T,
             " < 0");
    if (a.T > 0 && a.c0 < a.c1)
        RV_ASSERT(a.decay && a.first && a.k && a.v && a.y && a.y != a.k && a.y != a.v);
}

void bi_wkv_reference_channels(const BiWkvArgs& a, int64_t c0, int64_t c1) {
    ref::bi_wkv_channels(a.decay, a.first, a.k, a.v, a.y, a.T, a.C, c0, c1, a.params);
    if (!a.gate) return;
    for (int64_t t = 0; t < a.T; ++t)
        for (int64_t c = c0; c < c1; ++c) a.y[t * a.C + c] *= a.gate[t * a.C + c];
}

}  // namespace rv::ops::detail
