// Bidirectional WKV (Bi-WKV) exactly as the official Vision-RWKV CUDA kernel computes it:
// chunked with token_split, future weights at distance (j - t), past weights at (t - j) across
// chunks and (t - j - 1) inside a chunk, plus the kernel's (1 - e^w) "leak" terms.
// Layer: vision/ops/ref. PyTorch counterpart: RUN_CUDA / bi_wkv_forward in
// OpenGVLab/Vision-RWKV classification/mmcls_custom/models/backbones/vrwkv.py (+ cuda_new kernel);
// our PyTorch reference is tools/rwkv_ref/bi_wkv.py. Spec: shared/spec/vrwkv.md §2.6.
//
// Project-wide EPS definition: per (b, c), with kmax = max_t k_t, the denominator gets
// + eps·e^{kmax}; i.e. after shifting k by kmax (which every weight ratio is invariant to) it gets
// + eps exactly. Within ~1e-6 relative of the CUDA kernel's per-step EPS.
#pragma once

#include <cstdint>

namespace rv::ops {

struct BiWkvParams {
    int token_split = 32;  // TOKEN_SPLIT of the kernel the weights were trained with
    float eps = 1e-6f;
};

namespace ref {

// decay, first: [C] raw parameters (spatial_decay, spatial_first); divided by T here, in fp32,
// as the PyTorch module does (self.spatial_decay / T). k, v, y: [B, T, C] channels-last.
// O(T) per channel with the spec's prefix/suffix recursion, in double after a per-channel max shift:
// no overflow for any k. Works for any T >= 1.
void bi_wkv(const float* decay, const float* first, const float* k, const float* v, float* y, int64_t B,
            int64_t T, int64_t C, const BiWkvParams& params);

}  // namespace ref
}  // namespace rv::ops
