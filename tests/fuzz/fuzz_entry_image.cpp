// Fuzz entry point for image decoding through our loader (see fuzz_entry.h).
#include <vector>

#include "tests/fuzz/fuzz_entry.h"
#include "vision/core/error.h"
#include "vision/image/image.h"

namespace rv::fuzz {

bool run_image(const uint8_t* data, size_t size) {
    const std::vector<uint8_t> bytes(data, data + size);
    bool ok = true;
    for (const auto mode : {image::ColorMode::kRgb, image::ColorMode::kGray}) {
        try {
            const auto img = image::decode_image(bytes, mode, "fuzz.img", kFuzzMaxPixels);
            if (img.pixels.size() != static_cast<size_t>(img.width) * static_cast<size_t>(img.height) *
                                         static_cast<size_t>(img.channels)) {
                __builtin_trap();  // the loader broke its own contract
            }
        } catch (const rv::Error&) {
            ok = false;
        }
    }
    return ok;
}

}  // namespace rv::fuzz
