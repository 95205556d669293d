// Colour-mode conversion of decoded pixels into Image8, with PIL's arithmetic.
// Layer: vision/image (no OpenCV here: image_io.cpp hands us plain buffers).
// PyTorch/PIL counterpart: PIL.Image.convert('RGB' | 'L') (Pillow libImaging/Convert.c: 'L' is
// the ITU-R 601-2 luma in 16-bit fixed point, L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16).
#pragma once

#include <cstddef>
#include <cstdint>

#include "vision/image/image.h"

namespace rv::image {

// PIL's 'RGB' -> 'L' luma, exactly (integer, rounded).
inline uint8_t pil_luma(uint8_t r, uint8_t g, uint8_t b) {
    return static_cast<uint8_t>(
        (uint32_t{r} * 19595u + uint32_t{g} * 38470u + uint32_t{b} * 7471u + 0x8000u) >> 16);
}

// A decoded raster as a codec returns it: interleaved, 8- or 16-bit samples (16-bit in native
// byte order), 1 (gray), 2 (gray + alpha), 3 (B,G,R) or 4 (B,G,R,A) channels — OpenCV's order.
struct PixelBuffer {
    const void* data = nullptr;
    int height = 0;
    int width = 0;
    int channels = 0;
    int bit_depth = 8;     // 8 or 16
    size_t row_bytes = 0;  // stride between rows
};

// Converts to the requested mode: 16-bit samples keep their high byte (v >> 8, what libpng's
// strip-16 gives OpenCV/mmcls and what PIL does for 16-bit RGB PNGs), alpha is dropped (not
// composited, like PIL's convert('RGB') and cv2.IMREAD_COLOR), gray is replicated for kRgb.
Image8 to_image8(const PixelBuffer& px, ColorMode mode);

// Converts an Image8 (1 or 3 channels) to another mode; a no-op copy when it is already there.
Image8 convert_color(const Image8& img, ColorMode mode);

}  // namespace rv::image
