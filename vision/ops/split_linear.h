// SplitLinear: a Linear whose output columns are cut into a fixed number of parts, each its own
// packed oneDNN matmul, so that one matmul can be spread over threads by columns while every
// output element is computed the same way whatever the thread count.
// Layer: vision/ops. PyTorch counterpart: torch.nn.Linear (the split is invisible to the result's
// meaning; tests/ops checks it against the reference).
//
// Why columns: with few tokens (T = 196 at 224²) cutting rows leaves tiny matmuls that re-pack the
// weights for every few rows (oneDNN's gemm packs per call on AVX2); cutting columns keeps every
// call at the image's full row count and each weight part is read once.
#pragma once

#include <cstdint>
#include <vector>

#include "vision/ops/linear.h"

namespace rv::ops {

class SplitLinear {
public:
    // The number of parts for N output features: 4 when N >= 128 (parts of a multiple of 16
    // columns), else 1. Depends on N only.
    static int64_t parts_for(int64_t N);

    // weight [N, K]; bias [N] or nullptr.
    void set_weights(const Tensor& weight, const Tensor* bias);
    void prepare(Precision precision);

    int64_t in_features() const { return in_; }
    int64_t out_features() const { return out_; }
    int64_t parts() const { return static_cast<int64_t>(parts_.size()); }
    int64_t part_begin(int64_t p) const { return begin_[static_cast<size_t>(p)]; }
    int64_t part_end(int64_t p) const { return begin_[static_cast<size_t>(p) + 1]; }
    size_t weight_bytes() const;

    // The largest scratch any part needs for M rows.
    size_t scratch_bytes(int64_t M, const PostOps& post = {}) const;

    // Columns [part_begin(p), part_end(p)) of y [M, N] (and of post.mul, post.scale).
    void forward_part(int64_t p, const float* x, int64_t M, float* y, const PostOps& post,
                      void* scratch) const;
    // All parts, one after the other (tests, one-off calls).
    void forward(const float* x, int64_t M, float* y, const PostOps& post = {},
                 void* scratch = nullptr) const;

private:
    std::vector<Linear> parts_;
    std::vector<int64_t> begin_;  // parts + 1 column offsets
    int64_t in_ = 0, out_ = 0;
};

}  // namespace rv::ops
