// Fuzz entry points for the checkpoint readers (see fuzz_entry.h).
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_entry.h"
#include "vision/core/error.h"
#include "vision/weights/weight_store.h"

namespace rv::fuzz {

namespace {

// Opens the bytes as a checkpoint and converts every tensor to fp32, the path a model load takes.
bool run_store(const uint8_t* data, size_t size, const char* name) {
    try {
        auto store = weights::WeightStore::from_bytes(std::vector<uint8_t>(data, data + size), name);
        for (const auto& key : store.keys()) {
            (void)store.get(key);
        }
        (void)store.wrapper();
        return true;
    } catch (const rv::Error&) {
        return false;
    }
}

}  // namespace

bool run_pth(const uint8_t* data, size_t size) { return run_store(data, size, "fuzz.pth"); }

bool run_safetensors(const uint8_t* data, size_t size) { return run_store(data, size, "fuzz.safetensors"); }

}  // namespace rv::fuzz
