// The kernel table for the ISA in force. Layer: vision/ops.
#include "vision/core/error.h"
#include "vision/ops/kernels.h"
#include "vision/ops/kernels_internal.h"

namespace rv::ops {

const KernelTable& kernels_for(Isa isa) {
    RV_CHECK(static_cast<int>(isa) <= static_cast<int>(detected_isa()), ErrorCode::kUnsupported,
             "kernels for ", isa_name(isa), " were requested, but this CPU supports up to ",
             isa_name(detected_isa()));
    switch (isa) {
        case Isa::kScalar:
            return scalar::kTable;
        case Isa::kAvx2:
            return avx2::kTable;
        case Isa::kAvx512:
            return avx512::kTable;
    }
    RV_THROW(ErrorCode::kInvalidArgument, "kernels_for: unknown ISA level ", static_cast<int>(isa));
}

const KernelTable& kernels() { return kernels_for(active_isa()); }

}  // namespace rv::ops
