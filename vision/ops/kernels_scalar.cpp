// The kernels of kernels_impl.h with one lane (RV_MAX_ISA=scalar, CPUs without AVX2).
// Layer: vision/ops. Built with the baseline flags.
#include "vision/ops/simd_scalar.h"
// The SIMD vocabulary first: kernels_impl.h's templates find it by argument-dependent lookup.
#include "vision/ops/kernels_impl.h"

namespace rv::ops::scalar {
constinit const KernelTable kTable = make_table<D>(Isa::kScalar);
}  // namespace rv::ops::scalar
