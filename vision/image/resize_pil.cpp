// PIL-exact resampling (see resize_pil.h). The facts this code reproduces, from Pillow 9.4
// (libImaging/Resample.c, Geometry.c, _imaging.c `_resize`, Image.resize), restated in our words:
//
//  * Same size in and out: a plain copy, whatever the filter.
//  * NEAREST is not a convolution: it is an affine "scale" transform. Source x of output x is
//    (int)xo where xo starts at scale/2 and is advanced by `xo += scale` (accumulated in double, so we
//    accumulate too); scale = float(in) / out. Out-of-range taps would stay 0.
//  * BILINEAR / BICUBIC: separable convolution, horizontal pass first (only if the width changes),
//    into an 8-bit intermediate (rounded and clipped), then vertical (only if the height changes).
//    Per axis: scale = in/out, filterscale = max(scale, 1), support = filter_support * filterscale;
//    output i has centre (i + 0.5) * scale, taps xmin = max((int)(centre - support + 0.5), 0) to
//    min((int)(centre + support + 0.5), in) (exclusive), weight of tap x is
//    filter((x - centre + 0.5) / filterscale) normalised by the sum of the taps' weights.
//  * 8-bit images use fixed-point weights with 22 fraction bits (32 - 8 - 2), rounded half away
//    from zero; the sum starts at 2^21 (so >> 22 rounds) and is clamped to 0..255.
//  * No box "reduce" pre-step: Image.resize's reducing_gap defaults to None.
#include "vision/image/resize_pil.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "vision/core/error.h"

namespace rv::image {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

// Limit on the output size so a degenerate aspect ratio cannot ask for gigabytes.
constexpr int64_t kMaxOutputPixels = int64_t{1} << 28;
constexpr int kMaxSide = 1 << 28;

double bilinear_filter(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic convolution with a = -0.5 (Pillow's choice; PyTorch's bicubic uses -0.75).
double bicubic_filter(double x) {
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

struct FilterDef {
    double (*fn)(double);
    double support;
};

// Fixed-point taps of one axis: output i reads `count[i]` inputs from `first[i]` with weights
// `weight[i * ksize + k]`.
struct AxisTaps {
    int ksize = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<int32_t> weight;
};

AxisTaps compute_taps(int in_size, int out_size, const FilterDef& filter) {
    // Pillow passes the source box as float; float(in) differs from in only above 2^24.
    const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
    const double filterscale = std::max(scale, 1.0);
    const double support = filter.support * filterscale;
    const double inv_filterscale = 1.0 / filterscale;

    AxisTaps taps;
    taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    const size_t ksize = static_cast<size_t>(taps.ksize);
    taps.first.resize(static_cast<size_t>(out_size));
    taps.count.resize(static_cast<size_t>(out_size));
    taps.weight.assign(static_cast<size_t>(out_size) * ksize, 0);

    std::vector<double> w(ksize);
    for (int i = 0; i < out_size; ++i) {
        const double center = (i + 0.5) * scale;
        // (int) truncates toward zero, as Pillow's C cast does; negative starts clip to 0 anyway.
        const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
        const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size);
        const int n = xmax - xmin;
        RV_ASSERT(n >= 1 && n <= taps.ksize);

        double sum = 0.0;
        for (int k = 0; k < n; ++k) {
            // Same operation order as Pillow: ((k + xmin) - center + 0.5) * (1 / filterscale).
            w[static_cast<size_t>(k)] = filter.fn((k + xmin - center + 0.5) * inv_filterscale);
            sum += w[static_cast<size_t>(k)];
        }
        int32_t* out = &taps.weight[static_cast<size_t>(i) * ksize];
        for (int k = 0; k < n; ++k) {
            double v = w[static_cast<size_t>(k)];
            if (sum != 0.0) v /= sum;
            // Round half away from zero to 22 fraction bits.
            const double fixed = v * static_cast<double>(1 << kPrecisionBits);
            out[k] = static_cast<int32_t>(v < 0.0 ? fixed - 0.5 : fixed + 0.5);
        }
        taps.first[static_cast<size_t>(i)] = xmin;
        taps.count[static_cast<size_t>(i)] = n;
    }
    return taps;
}

// Accumulators are 64-bit: Pillow's 2 guard bits make int32 enough for its own weights, but a
// wider sum keeps that an argument about results, not about undefined behaviour.
inline uint8_t clip8(int64_t acc) {
    const int64_t v = acc >> kPrecisionBits;  // arithmetic shift (C++20), as Pillow's lookup index
    return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

constexpr int64_t kRoundHalf = int64_t{1} << (kPrecisionBits - 1);

// Horizontal pass over source rows [row0, row0 + rows).
Image8 resample_horizontal(const Image8& src, int out_width, int row0, int rows, const AxisTaps& taps) {
    const int channels = src.channels;
    Image8 dst;
    dst.height = rows;
    dst.width = out_width;
    dst.channels = channels;
    dst.pixels.resize(static_cast<size_t>(rows) * static_cast<size_t>(out_width) *
                      static_cast<size_t>(channels));
    const size_t src_stride = static_cast<size_t>(src.width) * static_cast<size_t>(channels);
    const size_t dst_stride = static_cast<size_t>(out_width) * static_cast<size_t>(channels);
    for (int y = 0; y < rows; ++y) {
        const uint8_t* in = src.pixels.data() + static_cast<size_t>(row0 + y) * src_stride;
        uint8_t* out = dst.pixels.data() + static_cast<size_t>(y) * dst_stride;
        for (int x = 0; x < out_width; ++x) {
            const size_t xi = static_cast<size_t>(x);
            const int32_t* k = &taps.weight[xi * static_cast<size_t>(taps.ksize)];
            const uint8_t* p = in + static_cast<size_t>(taps.first[xi]) * static_cast<size_t>(channels);
            const int n = taps.count[xi];
            for (int c = 0; c < channels; ++c) {
                int64_t acc = kRoundHalf;
                for (int t = 0; t < n; ++t) acc += int64_t{p[t * channels + c]} * k[t];
                out[xi * static_cast<size_t>(channels) + static_cast<size_t>(c)] = clip8(acc);
            }
        }
    }
    return dst;
}

// Vertical pass; `row_offset` is the first source row that `src` holds (the horizontal pass
// only computes the rows the vertical taps read).
Image8 resample_vertical(const Image8& src, int out_height, int row_offset, const AxisTaps& taps) {
    const size_t row_len = static_cast<size_t>(src.width) * static_cast<size_t>(src.channels);
    Image8 dst;
    dst.height = out_height;
    dst.width = src.width;
    dst.channels = src.channels;
    dst.pixels.resize(static_cast<size_t>(out_height) * row_len);
    for (int y = 0; y < out_height; ++y) {
        const size_t yi = static_cast<size_t>(y);
        const int32_t* k = &taps.weight[yi * static_cast<size_t>(taps.ksize)];
        const uint8_t* in = src.pixels.data() + static_cast<size_t>(taps.first[yi] - row_offset) * row_len;
        const int n = taps.count[yi];
        uint8_t* out = dst.pixels.data() + yi * row_len;
        for (size_t j = 0; j < row_len; ++j) {
            int64_t acc = kRoundHalf;
            for (int t = 0; t < n; ++t) acc += int64_t{in[static_cast<size_t>(t) * row_len + j]} * k[t];
            out[j] = clip8(acc);
        }
    }
    return dst;
}

// Source index of each output index for NEAREST, or -1 where Pillow leaves the pixel at 0.
std::vector<int> nearest_index(int in_size, int out_size) {
    const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
    std::vector<int> index(static_cast<size_t>(out_size));
    double pos = scale * 0.5;
    for (int i = 0; i < out_size; ++i) {
        const int s = pos < 0.0 ? -1 : static_cast<int>(pos);
        index[static_cast<size_t>(i)] = (s >= 0 && s < in_size) ? s : -1;
        pos += scale;  // accumulated, as Pillow does: the rounding drift is part of the result
    }
    return index;
}

Image8 resize_nearest(const Image8& src, int out_width, int out_height) {
    const std::vector<int> xs = nearest_index(src.width, out_width);
    const std::vector<int> ys = nearest_index(src.height, out_height);
    const size_t channels = static_cast<size_t>(src.channels);
    Image8 dst;
    dst.height = out_height;
    dst.width = out_width;
    dst.channels = src.channels;
    dst.pixels.assign(static_cast<size_t>(out_height) * static_cast<size_t>(out_width) * channels, 0);
    for (int y = 0; y < out_height; ++y) {
        const int sy = ys[static_cast<size_t>(y)];
        if (sy < 0) continue;
        const uint8_t* in =
            src.pixels.data() + static_cast<size_t>(sy) * static_cast<size_t>(src.width) * channels;
        uint8_t* out = dst.pixels.data() + static_cast<size_t>(y) * static_cast<size_t>(out_width) * channels;
        for (int x = 0; x < out_width; ++x) {
            const int sx = xs[static_cast<size_t>(x)];
            if (sx < 0) continue;
            std::copy_n(in + static_cast<size_t>(sx) * channels, channels,
                        out + static_cast<size_t>(x) * channels);
        }
    }
    return dst;
}

}  // namespace

Image8 resize_pil(const Image8& src, int out_width, int out_height, Filter filter) {
    RV_CHECK(src.width > 0 && src.height > 0 && src.channels > 0 &&
                 src.pixels.size() == static_cast<size_t>(src.width) * static_cast<size_t>(src.height) *
                                          static_cast<size_t>(src.channels),
             ErrorCode::kInvalidArgument, "resize_pil: source image is empty or inconsistent (", src.width,
             "x", src.height, "x", src.channels, ", ", src.pixels.size(), " bytes)");
    // Keeps every coordinate expression below (centre + support + 0.5 <= 3 * size) inside int.
    RV_CHECK(src.width <= kMaxSide && src.height <= kMaxSide, ErrorCode::kLimit, "resize_pil: source side ",
             std::max(src.width, src.height), " exceeds the limit of ", kMaxSide);
    RV_CHECK(out_width > 0 && out_height > 0, ErrorCode::kInvalidArgument,
             "resize_pil: output size must be positive, got ", out_width, "x", out_height);
    RV_CHECK(int64_t{out_width} * out_height <= kMaxOutputPixels, ErrorCode::kLimit,
             "resize_pil: output size ", out_width, "x", out_height, " exceeds the limit of ",
             kMaxOutputPixels, " pixels");

    if (out_width == src.width && out_height == src.height) return src;
    if (filter == Filter::kNearest) return resize_nearest(src, out_width, out_height);

    const FilterDef def =
        filter == Filter::kBicubic ? FilterDef{bicubic_filter, 2.0} : FilterDef{bilinear_filter, 1.0};
    const bool need_h = out_width != src.width;
    const bool need_v = out_height != src.height;

    if (!need_h) return resample_vertical(src, out_height, 0, compute_taps(src.height, out_height, def));
    const AxisTaps htaps = compute_taps(src.width, out_width, def);
    if (!need_v) return resample_horizontal(src, out_width, 0, src.height, htaps);

    const AxisTaps vtaps = compute_taps(src.height, out_height, def);
    const int row_first = vtaps.first.front();
    const int row_last = vtaps.first.back() + vtaps.count.back();
    const Image8 tmp = resample_horizontal(src, out_width, row_first, row_last - row_first, htaps);
    return resample_vertical(tmp, out_height, row_first, vtaps);
}

}  // namespace rv::image
