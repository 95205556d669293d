// Fuzz entry points: one function per untrusted-input reader, shared by the libFuzzer harnesses
// (tests/fuzz/harness/, built with -DRV_FUZZ=ON under clang) and the corpus replay gtest
// (tests/fuzz/test_fuzz_replay.cpp, built in every CI run, no clang needed).
// Layer: tests. PyTorch counterpart: none.
//
// Each function feeds the bytes through the same path a user's file takes and swallows rv::Error
// only: a clean rv::Error or success is the contract; any other exception escapes (libFuzzer
// reports it as a crash, the gtest as a failure), and the sanitizers catch memory and UB faults.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rv::fuzz {

// Largest raster the image entry decodes: small enough that the fuzzer never runs out of memory
// on a legitimately huge (but valid) header, large enough for every seed.
inline constexpr int64_t kFuzzMaxPixels = int64_t{1} << 22;

// Returns true when the input was accepted (false: it raised a clean rv::Error).
bool run_pth(const uint8_t* data, size_t size);          // WeightStore::from_bytes on a .pth + every get()
bool run_safetensors(const uint8_t* data, size_t size);  // the same for .safetensors bytes
bool run_config(const uint8_t* data, size_t size);       // config_from_json on the bytes as text
bool run_image(const uint8_t* data, size_t size);        // decode_image (RGB and gray) through our loader
bool run_nifti(const uint8_t* data, size_t size);        // NIfTI-1 header read + data checks (medical IO)

}  // namespace rv::fuzz
