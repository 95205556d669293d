// The kernels of kernels_impl.h with 8 AVX2 lanes. Layer: vision/ops (x86).
// Built with -mavx2 -mfma -ffp-contract=off (cmake/rv_helpers.cmake: rv_add_isa_sources); called
// only when detected_isa() >= kAvx2.
#include "vision/ops/x86/simd_avx2.h"
// The SIMD vocabulary first: kernels_impl.h's templates find it by argument-dependent lookup.
#include "vision/ops/kernels_impl.h"

namespace rv::ops::avx2 {
constinit const KernelTable kTable = make_table<D>(Isa::kAvx2);
}  // namespace rv::ops::avx2
