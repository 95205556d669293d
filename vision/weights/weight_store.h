// WeightStore: named tensors read from a checkpoint file (.pth or .safetensors), converted to fp32
// on request, with a strict account of which keys were used.
// Layer: vision/weights (depends on vision/core). PyTorch counterpart: torch.load(...) +
// Module.load_state_dict(strict=True).
//
// open() detects the format by magic bytes (zip "PK\3\4" -> PyTorch, else safetensors header),
// indexes key -> {dtype, shape, bytes} and keeps the file bytes; nothing is converted until take().
// Every failure names the file, the key, what was expected and what was found.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vision/core/tensor.h"

namespace rv::weights {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };
std::string dtype_name(DType d);  // "F32", "F16", ... (safetensors spelling)
size_t dtype_size(DType d);

struct TensorEntry {
    DType dtype = DType::kF32;
    Shape shape;
    const uint8_t* data = nullptr;  // contiguous little-endian bytes, row-major, owned by the store
    size_t nbytes = 0;
};

enum class FileFormat { kPyTorchZip, kSafetensors };

class WeightStore {
public:
    // Reads and indexes a checkpoint. For .pth: accepts a bare state dict or a wrapper dict with
    // one of 'state_dict', 'model', 'model_ema' (preferred in that order, or `wrapper_key` when
    // given); non-tensor entries are skipped.
    static WeightStore open(const std::string& path, const std::string& wrapper_key = "");

    // Like open(), for checkpoint bytes already in memory; `name` stands for the path in messages.
    // (Tests and fuzzing feed damaged files through here without touching the disk.)
    static WeightStore from_bytes(std::vector<uint8_t> bytes, const std::string& name,
                                  const std::string& wrapper_key = "");

    // Builds a store from tensors in memory (tests, converters).
    static WeightStore from_tensors(std::vector<std::pair<std::string, Tensor>> tensors,
                                    std::map<std::string, std::string> metadata = {});

    WeightStore(WeightStore&&) noexcept;
    WeightStore& operator=(WeightStore&&) noexcept;
    ~WeightStore();

    const std::string& path() const;
    FileFormat format() const;
    std::string wrapper() const;  // which wrapper key was unwrapped ("" for a bare state dict)

    bool contains(const std::string& key) const;
    std::vector<std::string> keys() const;                   // sorted
    const TensorEntry& entry(const std::string& key) const;  // throws kNotFound naming the file

    // Converts to fp32 (f16/bf16/f64/ints widened) and marks the key used. `expected` (if given)
    // must match exactly, else kShapeMismatch naming file, key, expected and found shapes. Every
    // value must be finite (a NaN or infinity in a weight is a damaged file): else kCorruptFile
    // naming the key and the first bad index. get() converts without that check. Both refuse a
    // tensor over rv::limits().max_tensor_bytes as fp32 (kLimit) before allocating it.
    Tensor take(const std::string& key, const std::optional<Shape>& expected = std::nullopt);
    Tensor get(const std::string& key) const;  // like take() without marking or checking

    // Keys never take()n; loaders call check_all_used() to fail on unexpected keys.
    std::vector<std::string> unused_keys() const;
    void mark_used(const std::string& key);
    void check_all_used() const;  // throws kShapeMismatch listing (up to 20) unexpected keys

    // safetensors "__metadata__" (empty for .pth).
    const std::map<std::string, std::string>& metadata() const;

private:
    struct Impl;
    explicit WeightStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Writes a .safetensors file atomically (temp file in the same folder + rename). Tensors are
// stored as F32 in the given order; keys must be unique.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace rv::weights
