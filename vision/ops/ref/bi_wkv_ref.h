// Bidirectional WKV (Bi-WKV) exactly as the official Vision-RWKV CUDA kernel computes it:
// chunked with token_split, future weights at distance (j - t), past weights at (t - j) across
// chunks and (t - j - 1) inside a chunk, plus the kernel's (1 - e^w) "leak" terms.
// Layer: vision/ops/ref. PyTorch counterpart: RUN_CUDA / bi_wkv_forward in
// OpenGVLab/Vision-RWKV classification/mmcls_custom/models/backbones/vrwkv.py (+ cuda_new kernel);
// our PyTorch reference is tools/rwkv_ref/bi_wkv.py. Spec: shared/spec/vrwkv.md §2.6.
//
// EPS exactly where the kernel puts it: the kernel keeps its sums as (mantissa, log-scale) pairs and
// adds EPS to the denominator after dividing by e^{no_t}, no_t = max(o_future, u + k_t, o_past) of
// its running log-scales. So the true-scale denominator gets + eps·e^{no_t}. The log-scales are
// reproduced here (O(T)); they can exceed max k by up to |spatial_decay| (the future scale grows by
// w per token even as terms are subtracted), so a global-max approximation is not good enough.
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

// One image (k, v, y: [T, C]), channels [c0, c1) only: the other columns of y are not touched.
// The fp32 kernels (vision/ops/kernels.h) fall back to this for channels whose decay is out of
// their range.
void bi_wkv_channels(const float* decay, const float* first, const float* k, const float* v, float* y,
                     int64_t T, int64_t C, int64_t c0, int64_t c1, const BiWkvParams& params);

}  // namespace ref
}  // namespace rv::ops
