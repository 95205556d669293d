// Linear layer y = x·Wᵀ + b on oneDNN matmul (the fast path for all dense work).
// Layer: vision/ops (oneDNN stays inside vision/ops/onednn). PyTorch counterpart: torch.nn.Linear.
// The plain reference is ops::ref::linear; tests/ops checks one against the other.
//
// Weights are given in PyTorch layout [out, in]; primitives are built once per row count M and
// cached (thread-safe), so a model's forward pass does not rebuild them.
#pragma once

#include <cstdint>
#include <memory>

#include "vision/core/tensor.h"

namespace rv::ops {

class Linear {
public:
    Linear();
    ~Linear();
    Linear(Linear&&) noexcept;
    Linear& operator=(Linear&&) noexcept;

    // weight [N, K]; bias [N] or nullptr. Copies what it needs.
    void set_weights(const Tensor& weight, const Tensor* bias);

    int64_t in_features() const { return in_; }
    int64_t out_features() const { return out_; }

    // x [M, K] row-major -> y [M, N] row-major.
    void forward(const float* x, int64_t M, float* y) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int64_t in_ = 0, out_ = 0;
};

}  // namespace rv::ops
