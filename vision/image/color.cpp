// Colour-mode conversion (see color.h).
#include "vision/image/color.h"

#include <cstring>

#include "vision/core/error.h"

namespace rv::image {
namespace {

// Reads sample c of pixel x in a row, reduced to 8 bits.
inline uint8_t sample8(const uint8_t* row, int x, int c, int channels, int bit_depth) {
    const size_t i = static_cast<size_t>(x) * static_cast<size_t>(channels) + static_cast<size_t>(c);
    if (bit_depth == 8) return row[i];
    uint16_t v = 0;
    std::memcpy(&v, row + 2 * i, sizeof v);  // no alignment assumption on the codec's buffer
    return static_cast<uint8_t>(v >> 8);
}

}  // namespace

Image8 to_image8(const PixelBuffer& px, ColorMode mode) {
    RV_ASSERT(px.data != nullptr && px.height > 0 && px.width > 0);
    RV_ASSERT(px.channels >= 1 && px.channels <= 4);
    RV_ASSERT(px.bit_depth == 8 || px.bit_depth == 16);

    Image8 out;
    out.height = px.height;
    out.width = px.width;
    out.channels = mode == ColorMode::kRgb ? 3 : 1;
    const size_t w = static_cast<size_t>(px.width);
    out.pixels.resize(static_cast<size_t>(px.height) * w * static_cast<size_t>(out.channels));

    const int cn = px.channels;
    const int bd = px.bit_depth;
    for (int y = 0; y < px.height; ++y) {
        const uint8_t* row = static_cast<const uint8_t*>(px.data) + static_cast<size_t>(y) * px.row_bytes;
        uint8_t* dst = out.pixels.data() + static_cast<size_t>(y) * w * static_cast<size_t>(out.channels);
        for (int x = 0; x < px.width; ++x) {
            uint8_t r, g, b;
            if (cn <= 2) {  // gray (alpha, if any, is channel 1 and ignored)
                r = g = b = sample8(row, x, 0, cn, bd);
            } else {  // B, G, R (alpha, if any, is channel 3 and ignored)
                b = sample8(row, x, 0, cn, bd);
                g = sample8(row, x, 1, cn, bd);
                r = sample8(row, x, 2, cn, bd);
            }
            if (mode == ColorMode::kRgb) {
                dst[3 * static_cast<size_t>(x) + 0] = r;
                dst[3 * static_cast<size_t>(x) + 1] = g;
                dst[3 * static_cast<size_t>(x) + 2] = b;
            } else {
                // A gray source stays as is (PIL does not round-trip 'L' through RGB).
                dst[x] = cn <= 2 ? r : pil_luma(r, g, b);
            }
        }
    }
    return out;
}

Image8 convert_color(const Image8& img, ColorMode mode) {
    RV_CHECK(img.channels == 1 || img.channels == 3, ErrorCode::kInvalidArgument,
             "convert_color: expected an image with 1 or 3 channels, got ", img.channels);
    const int want = mode == ColorMode::kRgb ? 3 : 1;
    if (img.channels == want) return img;
    Image8 out;
    out.height = img.height;
    out.width = img.width;
    out.channels = want;
    const size_t n = static_cast<size_t>(img.height) * static_cast<size_t>(img.width);
    RV_CHECK(img.pixels.size() == n * static_cast<size_t>(img.channels), ErrorCode::kInvalidArgument,
             "convert_color: pixel buffer size does not match ", img.width, "x", img.height, "x",
             img.channels);
    out.pixels.resize(n * static_cast<size_t>(want));
    for (size_t i = 0; i < n; ++i) {
        if (want == 3) {
            out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = img.pixels[i];
        } else {
            out.pixels[i] = pil_luma(img.pixels[3 * i], img.pixels[3 * i + 1], img.pixels[3 * i + 2]);
        }
    }
    return out;
}

}  // namespace rv::image
