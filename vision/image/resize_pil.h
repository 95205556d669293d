// PIL-exact resampling of 8-bit images: Image.resize((w, h), BICUBIC | BILINEAR | NEAREST),
// bit-exact with Pillow 9.4 for any channel count: the antialiasing (filter support scaled by the
// down-sampling factor), the 22-bit fixed-point coefficients and rounding, the 8-bit intermediate
// and the pass order (horizontal, then vertical), and NEAREST's accumulated source positions.
// Layer: vision/image. PyTorch counterpart: PIL.Image.resize (Pillow's libImaging/Resample.c and
// Geometry.c, semantics only; the code here is our own). No reducing_gap pre-step (Pillow's default).
// Tested against Pillow (Debian python3-pil) outputs to the last grey level.
#pragma once

#include "vision/image/image.h"

namespace rv::image {

enum class Filter { kBicubic, kBilinear, kNearest };

// Throws kInvalidArgument for an empty source or a size < 1, kLimit above 2^28 output pixels
// or a source side above 2^28.
Image8 resize_pil(const Image8& src, int out_width, int out_height, Filter filter = Filter::kBicubic);

}  // namespace rv::image
