// Every tolerance the parity tests use, in one place, each with its reason.
// Layer: tests. PyTorch counterpart: the fixtures written by tools/make_model_fixtures.py.
#pragma once

namespace rv::test {

// Plain reference kernels (double accumulation) vs PyTorch float32 on small ops: a few ulps of
// O(1) values.
inline constexpr double kOpAbs = 1e-5;
// Bi-WKV: our fp64 recursion vs the fp64 PyTorch reference, compared after a cast to fp32, on
// outputs that are weighted means of v (|y| <= max|v| ~ O(1)).
inline constexpr double kWkvAbs = 2e-6;
// One block or module: a handful of matmuls (oneDNN vs PyTorch summation order) and LayerNorms.
inline constexpr double kBlockAbs = 2e-5;
// Whole models, logits: the project standard (DEVELOPERS.md: fp32 logits within 1e-4 max abs).
inline constexpr double kLogitsAbs = 1e-4;

}  // namespace rv::test
