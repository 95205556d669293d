// Linear layer y = x·Wᵀ + b on oneDNN matmul, with weights packed once and post-ops fused.
// Layer: vision/ops (oneDNN stays inside vision/ops/onednn). PyTorch counterpart: torch.nn.Linear
// followed by the element-wise ops VRWKV applies to its output (sigmoid, relu², gating, residual).
// The plain reference is ops::ref::linear; tests/ops checks one against the other.
//
// Weights are given in PyTorch layout [out, in]. prepare() packs them into the layout oneDNN's
// matmul prefers (format_tag::any → reorder) for the chosen precision; primitives are built once
// per (rows, post-ops) and cached (thread-safe), so a forward pass builds nothing after warm-up.
// The caller passes scratch memory (scratch_bytes()) so a forward pass allocates no buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vision/core/tensor.h"

namespace rv::ops {

// Precision of the matmuls. bf16: activations and weights rounded to bf16, fp32 accumulation and
// fp32 output (oneDNN runs these on AMX / AVX512-BF16 where the CPU has them).
enum class Precision { kF32, kBf16 };
const char* precision_name(Precision p);  // "fp32", "bf16"
// Parses "fp32" | "f32" | "bf16"; throws rv::Error (kInvalidArgument) naming the value.
Precision parse_precision(const char* name);
// Whether bf16 matmuls can run fast here (oneDNN 2.6 needs AVX-512; probed once).
bool bf16_supported();

// What is fused after y = x·Wᵀ + b, in this order:
//   act        element-wise activation
//   mul        y ⊙= mul      (a [M, N] tensor, e.g. σ(r) gating the channel mix)
//   scale      y ⊙= scale    (a [N] vector, e.g. layer scale γ)
//   accumulate y = y_old + y (residual add into the output buffer)
struct PostOps {
    enum class Act { kNone, kSigmoid, kReluSquare };
    Act act = Act::kNone;
    const float* mul = nullptr;
    const float* scale = nullptr;
    bool accumulate = false;
};

// Tests and benchmarks: with false, no post-op is fused (all done by our epilogue), to check the
// epilogue against the fused path and to measure what fusion buys. Primitives built before the
// call keep their fusion. Default true.
void set_matmul_fusion(bool allowed);

class Linear {
public:
    Linear();
    ~Linear();
    Linear(Linear&&) noexcept;
    Linear& operator=(Linear&&) noexcept;

    // weight [N, K]; bias [N] or nullptr. Copies what it needs. Resets any packing.
    void set_weights(const Tensor& weight, const Tensor* bias);
    // Packs the weights for `precision` (idempotent). forward() packs lazily if this was not called.
    void prepare(Precision precision);
    Precision precision() const;

    int64_t in_features() const { return in_; }
    int64_t out_features() const { return out_; }
    // Bytes of packed weights held (the plain copy is dropped once packed).
    size_t weight_bytes() const;

    // Scratch a forward over M rows with these post-ops needs (oneDNN scratchpad plus, in bf16,
    // the converted input). Builds and caches the primitive.
    size_t scratch_bytes(int64_t M, const PostOps& post = {}, int64_t ldy = 0) const;

    // x [M, K] row-major -> y [M, N] with row stride ldy (0: N; post.mul has the same stride).
    // scratch: at least scratch_bytes(M, post, ldy) bytes, 64-byte aligned, or nullptr (then a
    // temporary buffer is allocated: tests, one-off calls).
    void forward(const float* x, int64_t M, float* y, const PostOps& post = {}, void* scratch = nullptr,
                 int64_t ldy = 0) const;

    // Which oneDNN implementation runs this shape, plus " + epilogue" when some post-ops could not
    // be fused (benchmarks, -v).
    std::string implementation(int64_t M, const PostOps& post = {}) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int64_t in_ = 0, out_ = 0;
};

}  // namespace rv::ops
