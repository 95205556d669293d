// PIL-exact resampling of 8-bit images: Image.resize((w, h), BICUBIC | BILINEAR) including its
// antialiasing (filter support scaled by the down-sampling factor), its fixed-point 8-bit
// coefficients and rounding, and its pass order (horizontal, then vertical).
// Layer: vision/image. PyTorch counterpart: PIL.Image.resize (Pillow's libImaging/Resample.c,
// semantics only; the code here is our own).
// Tested against Pillow (Debian python3-pil) outputs to the last grey level.
#pragma once

#include "vision/image/image.h"

namespace rv::image {

enum class Filter { kBicubic, kBilinear, kNearest };

Image8 resize_pil(const Image8& src, int out_width, int out_height, Filter filter = Filter::kBicubic);

}  // namespace rv::image
