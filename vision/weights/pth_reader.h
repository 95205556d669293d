// Reader of PyTorch zip checkpoints (.pth / .pt written by torch.save, torch >= 1.6).
// Layer: vision/weights. PyTorch counterpart: torch/serialization.py (torch.load, _load) and
// torch/_utils.py (_rebuild_tensor_v2); spec/vrwkv.md §2.11 (checkpoint containers).
//
// Finds <folder>/data.pkl (folder = the first entry's top directory, as torch does), runs the
// restricted unpickler, checks every referenced storage against <folder>/data/<key>, picks the
// state dict (a bare one, or the value under 'state_dict', 'model', 'model_ema' or the caller's
// key) and returns one contiguous byte range per tensor: a pointer into the file for contiguous
// tensors, a materialised copy for strided views. Keys are kept exactly as stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vision/weights/weight_store.h"

namespace rv::weights {

struct PthContents {
    std::vector<std::pair<std::string, TensorEntry>> tensors;  // in stored order
    std::vector<std::unique_ptr<uint8_t[]>> buffers;           // inflated storages, materialised views
    std::string wrapper;                                       // "" for a bare state dict
};

// Largest data.pkl we accept: real ones are kilobytes to a few megabytes.
inline constexpr uint64_t kMaxPickleBytes = uint64_t{512} << 20;

// `data` must outlive the returned tensors (they may point into it).
PthContents read_pth(const uint8_t* data, size_t size, const std::string& path,
                     const std::string& wrapper_key);

}  // namespace rv::weights
