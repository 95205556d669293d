// ImageF: an image as float samples in [0, 1] with its bit depth and alpha kept, for restoration
// (read a photo, restore it, write it back at the same depth with the same alpha).
// Layer: vision/image (OpenCV stays inside the .cpp). PyTorch counterpart: the BasicSR-style
// img2tensor(imread(..., IMREAD_UNCHANGED) / 255 or / 65535) and its inverse tensor2img.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rv::image {

struct ImageF {
    int height = 0;
    int width = 0;
    int channels = 0;           // colour channels: 1 (gray) or 3 (RGB order)
    int bit_depth = 8;          // of the source file: 8 or 16
    std::vector<float> pixels;  // [H, W, channels], sample / (2^bit_depth − 1)
    std::vector<float> alpha;   // [H, W] in [0, 1], empty when the file has none
    bool has_alpha() const { return !alpha.empty(); }
};

// Reads an 8- or 16-bit PNG/TIFF/JPEG/WebP/BMP/PNM as stored (no EXIF rotation, alpha kept; gray +
// alpha and BGRA become 1/3 colour channels + alpha). Errors (rv::Error) name the file: kNotFound,
// kCorruptFile, kLimit (over max_pixels, checked from the header before decoding where possible),
// kUnsupported (float or 32-bit samples).
ImageF load_image_float(const std::string& path, int64_t max_pixels = int64_t{1} << 28);

// Writes `img` rounded to `bit_depth` (8 or 16; JPEG and WebP are 8-bit only) in the format of the
// path's extension (.png, .jpg/.jpeg, .webp, .tif/.tiff, .bmp). Alpha is written where the format
// has it (PNG, TIFF, WebP) and dropped otherwise. Values are clipped to [0, 1]. Not atomic: callers
// write to a temporary name and rename (apps::write_atomically). jpeg_quality for .jpg/.webp.
void save_image_float(const std::string& path, const ImageF& img, int bit_depth, int jpeg_quality = 95);

}  // namespace rv::image
