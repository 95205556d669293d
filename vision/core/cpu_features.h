// What the CPU can run, and the cap a user or test puts on it (RV_MAX_ISA=scalar|avx2|avx512).
// Layer: vision/core. PyTorch counterpart: ATen's cpuinfo capability check (ATEN_CPU_CAPABILITY).
//
// Kernels are compiled once per ISA level and chosen at run time (never -march=native). The level
// in force is min(what the CPU has, RV_MAX_ISA, set_max_isa()).
#pragma once

#include <string>
#include <string_view>

namespace rv {

// Ordered: each level includes the ones before it.
//   kAvx2:   AVX2 + FMA (Haswell and later)
//   kAvx512: AVX-512 F, BW, DQ, VL (Skylake-SP and later)
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

Isa detected_isa();  // the best level this CPU supports
Isa active_isa();    // the level kernels use now
// Caps the level (tests and benchmarks); the RV_MAX_ISA environment variable is read once at start.
void set_max_isa(Isa cap);
const char* isa_name(Isa isa);  // "scalar", "avx2", "avx512"
// Parses "scalar" | "avx2" | "avx512"; throws rv::Error (kInvalidArgument) naming the value.
Isa parse_isa(std::string_view name);
// Whether the CPU has AVX512-BF16 / AMX-BF16 (bf16 matmuls through oneDNN are fast there).
bool cpu_has_bf16();
std::string cpu_model_name();  // e.g. "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"

}  // namespace rv
