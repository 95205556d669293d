// Reads an encoded image's declared width and height from its header, without decoding, so a
// file that declares a gigantic raster is refused before any codec allocates for it.
// Layer: vision/image (no OpenCV: plain byte parsing, written defensively; it sees untrusted input).
// PyTorch/PIL counterpart: PIL.Image.open's lazy header read + Image.MAX_IMAGE_PIXELS check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace rv::image {

struct HeaderInfo {
    std::string_view format;  // "png", "jpeg", "bmp", "webp", "pnm", "tiff"
    int64_t width = 0;
    int64_t height = 0;
};

// Returns the declared size for PNG, JPEG, BMP, WebP, PNM (P1-P6) and TIFF (first image), or
// nullopt when the format is not one of these or the header is too short or malformed to tell
// (the decoder then has the last word and OpenCV's own size limit still applies).
std::optional<HeaderInfo> peek_image_header(const uint8_t* data, size_t size);

}  // namespace rv::image
