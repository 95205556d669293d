// Deterministic parameter generator shared with tools/rwkv_ref/det_init.py, so that full-size
// models with random weights can be checked against PyTorch without committing their weights:
// the fixture stores only (key, shape, lo, hi) per parameter plus the inputs and outputs.
// Layer: tests. PyTorch counterpart: tools/rwkv_ref/det_init.py (must stay bit-identical).
//
//   seed(key) = fnv1a64(utf-8 bytes of key) XOR global_seed
//   x_i       = splitmix64(seed + i)            (uint64 wrap-around arithmetic)
//   u_i       = (x_i >> 11) * 2^-53             in [0, 1), exact in double
//   value_i   = float32(lo + (hi - lo) * u_i)   computed in double, rounded to nearest float
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vision/core/tensor.h"
#include "vision/weights/weight_store.h"

namespace rv::test {

uint64_t fnv1a64(const std::string& s);
uint64_t splitmix64(uint64_t x);
Tensor det_tensor(const std::string& key, const Shape& shape, double lo, double hi, uint64_t global_seed);

// Reads an "init" JSON written by tools/make_model_fixtures.py:
// {"seed": N, "params": [{"key": "...", "shape": [...], "lo": a, "hi": b}, ...]}
// and returns a WeightStore holding the generated tensors.
weights::WeightStore det_store_from_json(const std::string& json_path);

}  // namespace rv::test
