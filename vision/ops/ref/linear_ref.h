// Plain reference kernels for the dense parts of a model: Linear (y = x·Wᵀ + b) and LayerNorm.
// Layer: vision/ops/ref — the oracle every fast kernel is tested against; clarity over speed.
// PyTorch counterparts: torch.nn.functional.linear, torch.nn.functional.layer_norm.
#pragma once

#include <cstdint>

namespace rv::ops::ref {

// x [M, K] row-major, w [N, K] (PyTorch Linear layout), bias [N] or nullptr -> y [M, N].
// Accumulates in double.
void linear(const float* x, const float* w, const float* bias, float* y, int64_t M, int64_t K, int64_t N);

// Normalises each row of x [rows, C] over C with the biased variance, then y = x̂·gamma + beta.
// gamma/beta may be nullptr (no affine). Statistics in double.
void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t C,
                float eps);

}  // namespace rv::ops::ref
