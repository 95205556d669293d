// Kernels split over a ForwardContext's threads. Layer: backbone.
#include "backbone/parallel_kernels.h"

#include <algorithm>

namespace rv::backbone {
namespace {
// Rows per task for the row-wise kernels: enough work to amortise a task (~tens of µs).
constexpr int64_t kRowGrain = 64;
// Channels per Bi-WKV task: a multiple of every ISA's lane count, so no vector is split.
constexpr int64_t kWkvChannelBlock = 16;
}  // namespace

void run_layer_norm(const ForwardContext& ctx, const float* x, const float* weight, const float* bias,
                    float eps, float* y, int64_t rows, int64_t C, const float* gate, bool accumulate,
                    const float* gamma) {
    OpTimer timer(ctx.profile, OpClass::kNorm);
    const auto& k = ops::kernels();
    ctx.run(rows, kRowGrain, [&](int64_t r0, int64_t r1) {
        ops::LayerNormArgs a;
        a.x = x;
        a.weight = weight;
        a.bias = bias;
        a.eps = eps;
        a.gate = gate;
        a.gamma = gamma;
        a.accumulate = accumulate;
        a.y = y;
        a.C = C;
        a.row0 = r0;
        a.row1 = r1;
        k.layer_norm(a);
    });
}

void run_shift_mix(const ForwardContext& ctx, const float* x, int64_t B, int64_t H, int64_t W, int64_t C,
                   int n, const float* const* mu, float* const* out) {
    OpTimer timer(ctx.profile, OpClass::kShiftMix);
    const auto& k = ops::kernels();
    const int64_t T = H * W, per_image = (T + kRowGrain - 1) / kRowGrain;
    ctx.run(B * per_image, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t b = i / per_image, chunk = i % per_image;
            ops::ShiftMixArgs a;
            a.x = x + b * T * C;
            a.H = H;
            a.W = W;
            a.C = C;
            a.row0 = chunk * kRowGrain;
            a.row1 = std::min(T, a.row0 + kRowGrain);
            a.n_out = n;
            for (int j = 0; j < n; ++j) {
                a.mu[j] = mu[j];
                a.out[j] = out[j] + b * T * C;
            }
            k.shift_mix(a);
        }
    });
}

void run_bi_wkv(const ForwardContext& ctx, const float* decay, const float* first, const float* k,
                const float* v, const float* gate, float* y, int64_t B, int64_t T, int64_t C,
                const ops::BiWkvParams& params) {
    OpTimer timer(ctx.profile, OpClass::kWkv);
    const auto& kt = ops::kernels();
    const int64_t blocks = (C + kWkvChannelBlock - 1) / kWkvChannelBlock;
    ctx.run(B * blocks, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t b = i / blocks, blk = i % blocks, off = b * T * C;
            ops::BiWkvArgs a;
            a.decay = decay;
            a.first = first;
            a.k = k + off;
            a.v = v + off;
            a.gate = gate ? gate + off : nullptr;
            a.y = y + off;
            a.T = T;
            a.C = C;
            a.c0 = blk * kWkvChannelBlock;
            a.c1 = std::min(C, a.c0 + kWkvChannelBlock);
            a.params = params;
            kt.bi_wkv(a);
        }
    });
}

void run_add_scaled(const ForwardContext& ctx, const float* x, const float* s, float* y, int64_t rows,
                    int64_t C) {
    OpTimer timer(ctx.profile, OpClass::kOther);
    const auto& k = ops::kernels();
    ctx.run(rows, kRowGrain * 4, [&](int64_t r0, int64_t r1) { k.add_scaled(x, s, y, C, r0, r1); });
}

}  // namespace rv::backbone

#include <cstddef>

#include "vision/core/error.h"
#include "vision/ops/split_linear.h"

namespace rv::backbone {

int64_t matmul_row_block(int64_t T) {
    // A whole image per call up to 1024 tokens (the weights are packed once per call by oneDNN's
    // AVX2 gemm, so fewer, taller calls are faster); larger images in blocks of 512 rows.
    return T <= 1024 ? T : 512;
}

size_t matmul_block_scratch(const ops::SplitLinear& linear, int64_t T, const ops::PostOps& post) {
    const int64_t blk = std::min(T, matmul_row_block(T)), tail = T % blk;
    size_t n = linear.scratch_bytes(blk, post);
    if (tail) n = std::max(n, linear.scratch_bytes(tail, post));
    return n;
}

void run_linear(const ForwardContext& ctx, const ops::SplitLinear& linear, const float* x, int64_t B,
                int64_t T, float* y, const ops::PostOps& post) {
    OpTimer timer(ctx.profile, OpClass::kMatmul);
    const int64_t K = linear.in_features(), N = linear.out_features(), parts = linear.parts();
    const int64_t blk = std::min(T, matmul_row_block(T)), per_image = (T + blk - 1) / blk;
    ctx.run(B * per_image * parts, 1, [&](int64_t i0, int64_t i1) {
        const int slot = ctx.serial ? 0 : current_thread_slot();
        RV_ASSERT(slot < ctx.matmul_scratch_slots);
        void* scratch = static_cast<std::byte*>(ctx.matmul_scratch) +
                        static_cast<size_t>(slot) * ctx.matmul_scratch_bytes;
        const int previous = set_this_thread_onednn_threads(1);
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t p = i % parts, rb = (i / parts) % per_image, b = i / (parts * per_image);
            const int64_t r0 = b * T + rb * blk, rows = std::min(blk, (b + 1) * T - r0);
            ops::PostOps rp = post;
            if (rp.mul) rp.mul += r0 * N;
            linear.forward_part(p, x + r0 * K, rows, y + r0 * N, rp, scratch);
        }
        set_this_thread_onednn_threads(previous);
    });
}

}  // namespace rv::backbone
