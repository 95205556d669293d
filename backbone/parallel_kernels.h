// The engine's kernels (vision/ops/kernels.h) split over the threads of a ForwardContext, and
// timed by op class. Layer: backbone. PyTorch counterpart: at::parallel_for around an op.
// Splits are fixed by the shapes (never by the thread count), so results are bitwise identical
// for any number of threads.
#pragma once

#include <cstdint>

#include "backbone/forward_context.h"
#include "vision/ops/kernels.h"

namespace rv::backbone {

// LayerNorm over C of rows [0, rows) (see ops::LayerNormArgs for gate / accumulate / gamma).
void run_layer_norm(const ForwardContext& ctx, const float* x, const float* weight, const float* bias,
                    float eps, float* y, int64_t rows, int64_t C, const float* gate = nullptr,
                    bool accumulate = false, const float* gamma = nullptr);

// Q-Shift fused with n lerp mixes, per image of a batch [B, H·W, C].
void run_shift_mix(const ForwardContext& ctx, const float* x, int64_t B, int64_t H, int64_t W, int64_t C,
                   int n, const float* const* mu, float* const* out);

// Bi-WKV per image of a batch [B, T, C]; gate [B, T, C] or nullptr.
void run_bi_wkv(const ForwardContext& ctx, const float* decay, const float* first, const float* k,
                const float* v, const float* gate, float* y, int64_t B, int64_t T, int64_t C,
                const ops::BiWkvParams& params);

// y += s ⊙ x (s [C] or nullptr) over [rows, C].
void run_add_scaled(const ForwardContext& ctx, const float* x, const float* s, float* y, int64_t rows,
                    int64_t C);

}  // namespace rv::backbone

namespace rv::ops {
class SplitLinear;
struct PostOps;
}  // namespace rv::ops

namespace rv::backbone {

// Matmuls run as blocks of (rows, columns): each image's T rows are cut into row blocks whose size
// depends on T only, each layer's output columns into the fixed parts of ops::SplitLinear, and
// every block is one single-threaded oneDNN call spread over the pool. So a token's result depends
// neither on the thread count nor on the batch size (oneDNN's own OpenMP threading reorders sums
// with the thread count), and OpenMP never spins against TBB.
int64_t matmul_row_block(int64_t T);

// Scratch one block of `linear` needs for images of T tokens (the largest over the block sizes).
size_t matmul_block_scratch(const ops::SplitLinear& linear, int64_t T, const ops::PostOps& post);

// y = linear(x) with post-ops, x [B·T, K], y [B·T, N]; post.mul, if any, is [B·T, N].
void run_linear(const ForwardContext& ctx, const ops::SplitLinear& linear, const float* x, int64_t B,
                int64_t T, float* y, const ops::PostOps& post);

}  // namespace rv::backbone
