// Image8: an 8-bit (or 16-bit, widened on load) interleaved image, and loading it from disk.
// Layer: vision/image (depends on vision/core; OpenCV stays inside the .cpp files).
// PyTorch counterpart: PIL.Image.open(...).convert('RGB' | 'L').
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rv::image {

enum class ColorMode { kRgb, kGray };

// Interleaved HWC pixels; RGB order for 3 channels (not OpenCV's BGR).
struct Image8 {
    int height = 0;
    int width = 0;
    int channels = 0;  // 1 or 3
    std::vector<uint8_t> pixels;
    uint8_t at(int y, int x, int c) const {
        return pixels[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) *
                          static_cast<size_t>(channels) + static_cast<size_t>(c)];
    }
};

// Loads PNG/JPEG/TIFF/WebP/BMP/PGM... through OpenCV and converts to the requested mode the way
// PIL's convert() does (gray = ITU-R 601-2 luma L = R*299/1000 + G*587/1000 + B*114/1000, PIL's
// integer rounding; 16-bit scaled to 8-bit; alpha dropped). Throws rv::Error (kNotFound,
// kCorruptFile or kLimit when the pixel count exceeds max_pixels) naming the file.
Image8 load_image(const std::string& path, ColorMode mode, int64_t max_pixels = int64_t{1} << 28);

// Writes PNG (lossless) atomically; used by tests and sample generation.
void save_png(const std::string& path, const Image8& img);

// Decodes from memory (fuzzing, tests). `name` is used in error messages.
Image8 decode_image(const std::vector<uint8_t>& bytes, ColorMode mode, const std::string& name,
                    int64_t max_pixels = int64_t{1} << 28);

}  // namespace rv::image
