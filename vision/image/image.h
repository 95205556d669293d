// Image8: an 8-bit interleaved image (16-bit files are reduced on load), and loading it from disk.
// Layer: vision/image (depends on vision/core; OpenCV stays inside the .cpp files).
// PyTorch counterpart: mmcls LoadImageFromFile (mmcv.imread, cv2.IMREAD_COLOR) for RGB, and
// PIL.Image.open(...).convert('L') for gray.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vision/core/limits.h"

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
                          static_cast<size_t>(channels) +
                      static_cast<size_t>(c)];
    }
};

// Loads PNG/JPEG/TIFF/WebP/BMP/PNM/JPEG 2000 (recognised by their first bytes; no other OpenCV
// decoder is reached) through OpenCV and converts to the requested mode:
//  - EXIF orientation IS applied (as cv2.imread(IMREAD_COLOR) in mmcls does; PIL.Image.open would not).
//  - kRgb: gray is replicated, alpha dropped (not composited), B,G,R reordered to R,G,B.
//  - kGray: PIL's 'L' luma, L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16, on the 8-bit values.
//  - 16-bit samples keep their high byte (v >> 8): what cv2.IMREAD_COLOR gives for 16-bit PNGs and
//    what PIL gives for 16-bit RGB PNGs. (PIL clips 16-bit *gray* PNGs to 255 instead; we do not.)
// max_pixels defaults to rv::limits().max_pixels (vision/core/limits.h: 2^28, RV_MAX_PIXELS, --max-pixels).
// The declared size is checked against max_pixels before decoding for PNG, JPEG, BMP, WebP, PNM
// and TIFF, and after decoding for anything else. Throws rv::Error naming the file: kNotFound
// (missing), kCorruptFile (empty, undecodable, truncated), kLimit (over max_pixels), kUnsupported
// (float samples), kIo. A truncated JPEG is an exception to "truncated = error": libjpeg decodes
// it with the missing rows grey and OpenCV reports no error, exactly what mmcls would feed the model.
Image8 load_image(const std::string& path, ColorMode mode, int64_t max_pixels = limits().max_pixels);

// Writes PNG (lossless) atomically; used by tests and sample generation.
void save_png(const std::string& path, const Image8& img);

// Decodes from memory (fuzzing, tests). `name` is used in error messages.
Image8 decode_image(const std::vector<uint8_t>& bytes, ColorMode mode, const std::string& name,
                    int64_t max_pixels = limits().max_pixels);

}  // namespace rv::image
