// The kernels of kernels_impl.h with 16 AVX-512 lanes (masked tails). Layer: vision/ops (x86).
// Built with -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -ffp-contract=off
// (cmake/rv_helpers.cmake: rv_add_isa_sources); called only when detected_isa() == kAvx512.
#include "vision/ops/x86/simd_avx512.h"
// The SIMD vocabulary first: kernels_impl.h's templates find it by argument-dependent lookup.
#include "vision/ops/kernels_impl.h"

namespace rv::ops::avx512 {
constinit const KernelTable kTable = make_table<D>(Isa::kAvx512);
}  // namespace rv::ops::avx512
