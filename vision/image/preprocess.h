// Classification preprocessing exactly as the official evaluation pipeline (mmcls):
// short side -> floor(input_size / crop_pct) with PIL's antialiased resampling (the long side is
// truncated: int(size * long / short)), centre crop input_size with Python round-half-even
// offsets (clipped to the image, as mmcls CenterCrop does), then (x - mean) / std on 0-255.
// `resize = false` skips resize and crop (run the image at its own size; the patch embedding pads).
// Layer: vision/image. PyTorch counterpart: mmcls pipelines Resize(backend='pillow') +
// CenterCrop + Normalize(to_rgb=True) (spec §2.12).
#pragma once

#include <string>
#include <vector>

#include "vision/core/tensor.h"
#include "vision/image/image.h"
#include "vision/image/resize_pil.h"

namespace rv::image {

struct PreprocessConfig {
    int input_size = 224;
    double crop_pct = 0.875;
    bool resize = true;
    Filter filter = Filter::kBicubic;
    ColorMode color = ColorMode::kRgb;
    std::vector<float> mean = {123.675f, 116.28f, 103.53f};  // per channel, 0-255 scale
    std::vector<float> std = {58.395f, 57.12f, 57.375f};
};

// Resize + centre crop only (the 8-bit image the network will see).
Image8 resize_and_crop(const Image8& img, const PreprocessConfig& cfg);

// Full preprocessing: returns [C, H, W] float32, normalised.
Tensor preprocess(const Image8& img, const PreprocessConfig& cfg);

// Python's round() (half to even), as mmcls uses for crop offsets.
long round_half_even(double x);

}  // namespace rv::image
