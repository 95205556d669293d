// Reader and writer of the safetensors format.
// Layer: vision/weights. PyTorch counterpart: safetensors.torch (load_file / save_file); format:
// huggingface/safetensors README ("Format") and safetensors/src/tensor.rs (validation rules).
//
// Layout: u64 little-endian N, N bytes of JSON header, then one byte buffer.
//   {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}}
// The reader checks what the reference implementation checks: header size bound, JSON shape,
// known dtypes, begin <= end, end - begin == numel * itemsize, and that the tensors tile the
// buffer exactly (no overlap, no gap, nothing left over). The JSON is scanned for nesting depth
// before it is parsed, so a "[[[[..." header cannot exhaust the stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vision/weights/weight_store.h"

namespace rv::weights {

inline constexpr uint64_t kMaxSafetensorsHeader = uint64_t{100} << 20;  // as the reference

struct SafetensorsContents {
    std::vector<std::pair<std::string, TensorEntry>> tensors;  // data points into the input bytes
    std::map<std::string, std::string> metadata;
};

SafetensorsContents read_safetensors(const uint8_t* data, size_t size, const std::string& path);

// Looks like safetensors: a plausible header length followed by '{'.
bool looks_like_safetensors(const uint8_t* data, size_t size);

}  // namespace rv::weights
