// Classification preprocessing (see preprocess.h), step for step as mmcls v0.25.0 evaluates:
//   Resize(size=(S, -1), adaptive_side='short', backend='pillow'): if min(h, w) == S nothing
//     happens; else the short side becomes S and the other int(S * long / short) (Python true
//     division, then truncation); resized with PIL (resize_pil).
//   CenterCrop(C): y1 = max(0, round((h - C) / 2)), y2 = min(h, y1 + C), same for x; Python's
//     round is half-to-even. An image smaller than C keeps its size on that axis.
//   Normalize(mean, std, to_rgb=True) -> mmcv.imnormalize: cv2.subtract in float32, then
//     cv2.multiply by 1 / float64(std), computed in double and stored as float32. We do the same
//     arithmetic so the tensors agree bit for bit (plain (x - mean) / std can differ by 1 ulp).
#include "vision/image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "vision/core/error.h"
#include "vision/image/color.h"

namespace rv::image {
namespace {

// The size PreprocessConfig resizes the short side to: floor(input_size / crop_pct) (timm's
// convention; 224 / 0.875 = 256 exactly).
int resize_target(const PreprocessConfig& cfg) {
    RV_CHECK(cfg.input_size > 0, ErrorCode::kInvalidArgument, "preprocess: input_size must be positive, got ",
             cfg.input_size);
    RV_CHECK(std::isfinite(cfg.crop_pct) && cfg.crop_pct > 0.0, ErrorCode::kInvalidArgument,
             "preprocess: crop_pct must be a positive number, got ", cfg.crop_pct);
    const double size = std::floor(cfg.input_size / cfg.crop_pct);
    RV_CHECK(size >= 1.0 && size <= 1 << 20, ErrorCode::kInvalidArgument, "preprocess: input_size ",
             cfg.input_size, " / crop_pct ", cfg.crop_pct, " gives an unusable resize target ", size);
    return static_cast<int>(size);
}

// mmcls Resize with adaptive_side='short'. Returns the image unchanged when no resize happens.
Image8 resize_short_side(const Image8& img, int target, Filter filter) {
    const int64_t h = img.height, w = img.width;
    if (std::min(h, w) == target) return img;
    int64_t out_w, out_h;
    if (w < h) {
        out_w = target;
        out_h = static_cast<int64_t>(static_cast<double>(target * h) / static_cast<double>(w));
    } else {
        out_h = target;
        out_w = static_cast<int64_t>(static_cast<double>(target * w) / static_cast<double>(h));
    }
    RV_CHECK(out_w <= std::numeric_limits<int>::max() && out_h <= std::numeric_limits<int>::max(),
             ErrorCode::kLimit, "preprocess: resizing a ", w, "x", h, " image to short side ", target,
             " gives ", out_w, "x", out_h, ", too large");
    return resize_pil(img, static_cast<int>(out_w), static_cast<int>(out_h), filter);
}

// mmcls CenterCrop (non-efficientnet style); returns [y1, y2) or [x1, x2) for one axis.
std::pair<int, int> center_crop_range(int size, int crop) {
    const long start = std::max(0L, round_half_even((size - crop) / 2.0));
    const long end = std::min(static_cast<long>(size), start + crop);
    return {static_cast<int>(start), static_cast<int>(end)};
}

Image8 crop(const Image8& img, int y0, int y1, int x0, int x1) {
    Image8 out;
    out.height = y1 - y0;
    out.width = x1 - x0;
    out.channels = img.channels;
    const size_t cn = static_cast<size_t>(img.channels);
    const size_t row = static_cast<size_t>(out.width) * cn;
    out.pixels.resize(static_cast<size_t>(out.height) * row);
    for (int y = y0; y < y1; ++y) {
        const uint8_t* src =
            img.pixels.data() +
            (static_cast<size_t>(y) * static_cast<size_t>(img.width) + static_cast<size_t>(x0)) * cn;
        std::copy_n(src, row, out.pixels.data() + static_cast<size_t>(y - y0) * row);
    }
    return out;
}

}  // namespace

long round_half_even(double x) {
    RV_CHECK(std::isfinite(x) && std::fabs(x) < 9.0e15, ErrorCode::kInvalidArgument,
             "round_half_even: value out of range: ", x);
    const double lo = std::floor(x);
    const double frac = x - lo;  // exact for |x| < 2^52
    double r = lo;
    if (frac > 0.5 || (frac == 0.5 && std::fmod(lo, 2.0) != 0.0)) r = lo + 1.0;
    return static_cast<long>(r);
}

Image8 resize_and_crop(const Image8& img, const PreprocessConfig& cfg) {
    RV_CHECK(img.width > 0 && img.height > 0, ErrorCode::kInvalidArgument, "preprocess: empty image");
    // The requested colour mode wins; a 3-channel image asked for as gray is converted with PIL's luma.
    Image8 work = convert_color(img, cfg.color);
    if (!cfg.resize) return work;

    work = resize_short_side(work, resize_target(cfg), cfg.filter);
    const auto [y0, y1] = center_crop_range(work.height, cfg.input_size);
    const auto [x0, x1] = center_crop_range(work.width, cfg.input_size);
    if (y0 == 0 && x0 == 0 && y1 == work.height && x1 == work.width) return work;
    return crop(work, y0, y1, x0, x1);
}

Tensor preprocess(const Image8& img, const PreprocessConfig& cfg) {
    const Image8 net = resize_and_crop(img, cfg);
    const size_t cn = static_cast<size_t>(net.channels);
    RV_CHECK(cfg.mean.size() == cn && cfg.std.size() == cn, ErrorCode::kInvalidArgument,
             "preprocess: mean and std need ", cn, " values for a ", cn, "-channel image, got ",
             cfg.mean.size(), " and ", cfg.std.size());
    std::vector<double> inv_std(cn);
    for (size_t c = 0; c < cn; ++c) {
        RV_CHECK(std::isfinite(cfg.std[c]) && cfg.std[c] != 0.0f && std::isfinite(cfg.mean[c]),
                 ErrorCode::kInvalidArgument,
                 "preprocess: std must be finite and non-zero and mean finite (channel ", c, ")");
        inv_std[c] = 1.0 / static_cast<double>(cfg.std[c]);
    }

    Tensor out({static_cast<int64_t>(cn), net.height, net.width});
    const size_t plane = static_cast<size_t>(net.height) * static_cast<size_t>(net.width);
    float* dst = out.data();
    for (size_t i = 0; i < plane; ++i) {
        for (size_t c = 0; c < cn; ++c) {
            const float centred =
                static_cast<float>(net.pixels[i * cn + c]) - cfg.mean[c];  // float32, as cv2
            dst[c * plane + i] = static_cast<float>(static_cast<double>(centred) * inv_std[c]);
        }
    }
    return out;
}

}  // namespace rv::image
