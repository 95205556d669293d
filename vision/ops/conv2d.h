// 2-D convolution over channels-last (NHWC) float32 maps, with a fused activation and residual add.
// Layer: vision/ops (oneDNN stays inside vision/ops/onednn). PyTorch counterpart: torch.nn.Conv2d
// (any kernel, stride, zero padding, dilation, groups) followed by an activation and `+ shortcut`;
// used by Restore-RWKV (spec §5: patch embed, Down/Up, OmniShift depthwise 5×5, output conv) and
// RWKV-UNet (spec §6.1: ConvNormAct with BatchNorm folded, depthwise 5×5 / 9×9, SE, 1×1 convs).
// The plain reference is ops::ref::conv2d; tests/ops/test_conv2d.cpp checks one against the other
// and both against PyTorch fixtures.
//
// Layout: x [B, H, W, Cin], y [B, OH, OW, Cout], both dense (the token layout [B, T, C], T = H·W).
// Weights are given in PyTorch layout [Cout, Cin/groups, KH, KW] and repacked once.
//
// Threading: the output of each image is cut into blocks of rows whose size depends on the shape
// only; each block is one single-threaded oneDNN call, and forward()
// spreads the blocks over the pool (or runs them in the calling thread when serial). So results are
// bitwise identical for any thread count. forward() is const and may be called concurrently from
// several threads on different inputs: primitives are cached per input size under a mutex, and each
// thread uses its own scratch (thread-local, grown on first use).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vision/core/tensor.h"
#include "vision/ops/activation.h"

namespace rv::ops {

// nn.Conv2d's geometry. Padding is zero padding, per side (PyTorch's `padding=p` is all four = p).
struct Conv2dShape {
    int64_t in = 0, out = 0;  // channels
    int64_t kh = 1, kw = 1;
    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
    int64_t dil_h = 1, dil_w = 1;
    int64_t groups = 1;

    // Square kernel k, stride s, padding p on every side (p < 0: k/2·dilation, "same" for odd k and
    // stride 1), dilation d.
    static Conv2dShape square(int64_t in, int64_t out, int64_t k, int64_t s = 1, int64_t p = -1,
                              int64_t groups = 1, int64_t d = 1);
    // Depthwise (groups = in = out = C).
    static Conv2dShape depthwise(int64_t C, int64_t k, int64_t s = 1, int64_t p = -1, int64_t d = 1);

    bool is_depthwise() const { return groups == in && groups == out && groups > 1; }
    // PyTorch's output size: floor((H + pad_t + pad_b − dil·(k − 1) − 1) / stride) + 1.
    int64_t out_h(int64_t H) const;
    int64_t out_w(int64_t W) const;
};

// Fused after y = conv(x) + bias, in this order:
//   act       element-wise activation
//   residual  y = act(...) + residual; residual is [B, OH, OW, Cout] (dense) and may be y itself
//             (accumulate into the output buffer) or x itself (a skip around a shape-preserving
//             conv, e.g. RWKV-UNet's x + SiLU(BN(dwconv(x)))); y itself must never alias x.
struct Conv2dPost {
    Activation act = Activation::kNone;
    const float* residual = nullptr;
};

// Which implementation runs a convolution (tests force one). kAuto = oneDNN for every shape: its
// NHWC depthwise kernel (jit_dw) beat a hand-written AVX2 one by 1.3–1.7× on the Restore-RWKV /
// RWKV-UNet shapes (benchmarks/RESULTS.md, "Dense ops"), so there is no kernel of our own.
enum class ConvImpl { kAuto, kOneDnn, kReference };

class Conv2d {
public:
    Conv2d();
    ~Conv2d();
    Conv2d(Conv2d&&) noexcept;
    Conv2d& operator=(Conv2d&&) noexcept;

    // weight [out, in/groups, kh, kw] (nn.Conv2d.weight); bias [out] or nullptr. Copies what it needs
    // and checks the shapes against `shape` (rv::Error kShapeMismatch naming both). Resets caches.
    void set_weights(const Tensor& weight, const Tensor* bias, const Conv2dShape& shape);

    const Conv2dShape& shape() const { return shape_; }
    int64_t out_h(int64_t H) const { return shape_.out_h(H); }
    int64_t out_w(int64_t W) const { return shape_.out_w(W); }

    // Forces an implementation (default kAuto). Resets caches.
    void set_impl(ConvImpl impl);
    // The implementation that runs this shape, e.g. "onednn:jit:avx2", "onednn:jit_dw:avx2",
    // "reference".
    std::string implementation(int64_t H, int64_t W) const;

    // Builds and caches what a forward over H×W inputs with this kind of post-op needs (optional:
    // forward builds lazily; only post's structure matters, not its pointers). Throws
    // kInvalidArgument when the output would be empty.
    void prepare(int64_t H, int64_t W, const Conv2dPost& post = {}) const;

    // x [B, H, W, in] -> y [B, OH, OW, out] with `post` fused. y must not alias x.
    // serial: run every block in the calling thread (throughput mode, inside a task of the pool).
    void forward(const float* x, int64_t B, int64_t H, int64_t W, float* y, const Conv2dPost& post = {},
                 bool serial = false) const;

    // The same work cut into fixed blocks, for callers that schedule it themselves:
    // blocks(H, W) output row blocks per image; forward_block computes block `blk` of image `b`
    // (x and y point at the whole batch, post.residual too). Every block is written by one call;
    // each call runs single-threaded, so blocks may run concurrently from any threads.
    int64_t blocks(int64_t H, int64_t W) const;
    void forward_block(const float* x, int64_t b, int64_t H, int64_t W, float* y, int64_t blk,
                       const Conv2dPost& post = {}) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Conv2dShape shape_;
};

// Eval-mode BatchNorm after a convolution, folded into it:
//   w'[o] = w[o]·s[o], b'[o] = (b[o] − mean[o])·s[o] + beta[o], s = gamma / sqrt(var + eps).
// weight [out, ...] is updated in place; bias may be empty (then it is created with `out` zeros).
// gamma/beta may be empty tensors (affine=False). Shapes are checked (kShapeMismatch).
void fold_batch_norm(Tensor& weight, Tensor& bias, const Tensor& gamma, const Tensor& beta,
                     const Tensor& running_mean, const Tensor& running_var, float eps);

// The same BatchNorm as a per-channel affine map y = x·scale + shift (scale, shift: [C] outputs),
// e.g. a BatchNorm that stands alone (RWKV-UNet's `norm` before a block) — apply it with
// ops::channel_affine (dense_ops.h), or fold it into the following conv with fold_affine_before_conv.
void batch_norm_scale_shift(const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                            const Tensor& running_var, float eps, Tensor& scale, Tensor& shift);

// A per-input-channel affine map x·scale + shift applied BEFORE a convolution, folded into it:
// w'[o, i] = w[o, i]·scale[i], b'[o] = b[o] + Σ_i,k w[o, i, k]·shift[i]. Exact only where the conv
// never reads padding (the shift would be added to padded zeros too), so it requires zero padding
// (1×1 convs); throws kUnsupported otherwise. Any groups (scale/shift index the input channels).
void fold_affine_before_conv(Tensor& weight, Tensor& bias, const Conv2dShape& shape, const Tensor& scale,
                             const Tensor& shift);

}  // namespace rv::ops
