// PSNR and SSIM (BasicSR and Restore-RWKV medical rules). Layer: vision/metrics.
#include "vision/metrics/psnr_ssim.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vision/core/error.h"

namespace rv::metrics {
namespace {

constexpr int64_t kWin = 11;
constexpr int64_t kHalf = kWin / 2;

void check_pair(const QualityImage& pred, const QualityImage& ref, const char* what) {
    RV_CHECK(pred.height == ref.height && pred.width == ref.width && pred.channels == ref.channels,
             ErrorCode::kShapeMismatch, what, ": prediction is ", pred.width, "x", pred.height, "x",
             pred.channels, " but the reference is ", ref.width, "x", ref.height, "x", ref.channels,
             " (width x height x channels); both must have the same size and channel count");
    RV_ASSERT(pred.values.size() == static_cast<size_t>(pred.height * pred.width * pred.channels));
    RV_ASSERT(ref.values.size() == static_cast<size_t>(ref.height * ref.width * ref.channels));
}

// One channel of `img` as a dense H x W plane.
std::vector<double> plane(const QualityImage& img, int64_t c) {
    std::vector<double> p(static_cast<size_t>(img.height * img.width));
    for (int64_t i = 0; i < img.height * img.width; ++i)
        p[static_cast<size_t>(i)] = img.values[static_cast<size_t>(i * img.channels + c)];
    return p;
}

// Separable correlation with the Gaussian: 'valid' gives (H-10)x(W-10), 'same' pads with zeros.
std::vector<double> gaussian_filter(const std::vector<double>& src, int64_t H, int64_t W, SsimWindow mode,
                                    const std::vector<double>& g, int64_t* out_h, int64_t* out_w) {
    const bool valid = mode == SsimWindow::kValid;
    const int64_t oh = valid ? H - 2 * kHalf : H;
    const int64_t ow = valid ? W - 2 * kHalf : W;
    const int64_t off = valid ? kHalf : 0;  // source offset of output (0, 0)'s window centre
    // Horizontal pass: rows of H x ow.
    std::vector<double> tmp(static_cast<size_t>(H * ow), 0.0);
    for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < ow; ++x) {
            double s = 0.0;
            const int64_t cx = x + off;
            for (int64_t k = 0; k < kWin; ++k) {
                const int64_t sx = cx + k - kHalf;
                if (sx >= 0 && sx < W) s += g[static_cast<size_t>(k)] * src[static_cast<size_t>(y * W + sx)];
            }
            tmp[static_cast<size_t>(y * ow + x)] = s;
        }
    std::vector<double> out(static_cast<size_t>(oh * ow), 0.0);
    for (int64_t y = 0; y < oh; ++y) {
        const int64_t cy = y + off;
        for (int64_t k = 0; k < kWin; ++k) {
            const int64_t sy = cy + k - kHalf;
            if (sy < 0 || sy >= H) continue;
            const double gk = g[static_cast<size_t>(k)];
            const double* row = &tmp[static_cast<size_t>(sy * ow)];
            double* o = &out[static_cast<size_t>(y * ow)];
            for (int64_t x = 0; x < ow; ++x) o[x] += gk * row[x];
        }
    }
    *out_h = oh;
    *out_w = ow;
    return out;
}

double ssim_plane(const std::vector<double>& a, const std::vector<double>& b, int64_t H, int64_t W,
                  double data_range, SsimWindow mode) {
    const double c1 = (0.01 * data_range) * (0.01 * data_range);
    const double c2 = (0.03 * data_range) * (0.03 * data_range);
    const auto g = gaussian_window_1d();
    const size_t n = a.size();
    std::vector<double> aa(n), bb(n), ab(n);
    for (size_t i = 0; i < n; ++i) {
        aa[i] = a[i] * a[i];
        bb[i] = b[i] * b[i];
        ab[i] = a[i] * b[i];
    }
    int64_t oh = 0, ow = 0;
    const auto mu1 = gaussian_filter(a, H, W, mode, g, &oh, &ow);
    const auto mu2 = gaussian_filter(b, H, W, mode, g, &oh, &ow);
    const auto faa = gaussian_filter(aa, H, W, mode, g, &oh, &ow);
    const auto fbb = gaussian_filter(bb, H, W, mode, g, &oh, &ow);
    const auto fab = gaussian_filter(ab, H, W, mode, g, &oh, &ow);
    double sum = 0.0;
    for (size_t i = 0; i < mu1.size(); ++i) {
        const double m11 = mu1[i] * mu1[i], m22 = mu2[i] * mu2[i], m12 = mu1[i] * mu2[i];
        const double s11 = faa[i] - m11, s22 = fbb[i] - m22, s12 = fab[i] - m12;
        sum += ((2 * m12 + c1) * (2 * s12 + c2)) / ((m11 + m22 + c1) * (s11 + s22 + c2));
    }
    return sum / static_cast<double>(mu1.size());
}

}  // namespace

std::vector<double> gaussian_window_1d() {
    std::vector<double> g(static_cast<size_t>(kWin));
    double sum = 0.0;
    for (int64_t i = 0; i < kWin; ++i) {
        const double d = static_cast<double>(i - kHalf);
        g[static_cast<size_t>(i)] = std::exp(-d * d / (2.0 * 1.5 * 1.5));
        sum += g[static_cast<size_t>(i)];
    }
    for (double& v : g) v /= sum;
    return g;
}

QualityImage crop_border(const QualityImage& img, int64_t border) {
    RV_CHECK(border >= 0, ErrorCode::kInvalidArgument, "crop border must be >= 0 (got ", border, ")");
    if (border == 0) return img;
    RV_CHECK(img.height > 2 * border && img.width > 2 * border, ErrorCode::kInvalidArgument,
             "a crop border of ", border, " leaves nothing of a ", img.width, "x", img.height,
             " image; use a smaller --crop-border");
    QualityImage out;
    out.height = img.height - 2 * border;
    out.width = img.width - 2 * border;
    out.channels = img.channels;
    out.max_value = img.max_value;
    out.values.reserve(static_cast<size_t>(out.height * out.width * out.channels));
    for (int64_t y = 0; y < out.height; ++y)
        for (int64_t x = 0; x < out.width; ++x)
            for (int64_t c = 0; c < img.channels; ++c)
                out.values.push_back(img.at(y + border, x + border, c));
    return out;
}

QualityImage to_basicsr_scale(const QualityImage& img) {
    QualityImage out = img;
    if (img.max_value != 255.0) {
        const double s = 255.0 / img.max_value;
        for (double& v : out.values) v *= s;
        out.max_value = 255.0;
    }
    return out;
}

QualityImage to_y_channel(const QualityImage& img) {
    if (img.channels != 3) return img;
    QualityImage out;
    out.height = img.height;
    out.width = img.width;
    out.channels = 1;
    out.max_value = img.max_value;
    out.values.resize(static_cast<size_t>(img.height * img.width));
    for (size_t i = 0; i < out.values.size(); ++i) {
        const double r = img.values[3 * i], g = img.values[3 * i + 1], b = img.values[3 * i + 2];
        // BasicSR bgr2ycbcr(y_only) on x/255, output /255, then *255 again (to_y_channel).
        out.values[i] = (65.481 * r + 128.553 * g + 24.966 * b) / 255.0 + 16.0;
    }
    return out;
}

double psnr(const QualityImage& pred, const QualityImage& ref, double peak) {
    check_pair(pred, ref, "psnr");
    double se = 0.0;
    for (size_t i = 0; i < pred.values.size(); ++i) {
        const double d = pred.values[i] - ref.values[i];
        se += d * d;
    }
    const double mse = se / static_cast<double>(pred.values.size());
    if (mse == 0.0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(peak * peak / mse);
}

double ssim(const QualityImage& pred, const QualityImage& ref, double data_range, SsimWindow window) {
    check_pair(pred, ref, "ssim");
    if (window == SsimWindow::kValid)
        RV_CHECK(pred.height >= kWin && pred.width >= kWin, ErrorCode::kInvalidArgument,
                 "SSIM needs at least ", kWin, "x", kWin, " pixels after cropping; the image is ", pred.width,
                 "x", pred.height);
    double sum = 0.0;
    for (int64_t c = 0; c < pred.channels; ++c)
        sum += ssim_plane(plane(pred, c), plane(ref, c), pred.height, pred.width, data_range, window);
    return sum / static_cast<double>(pred.channels);
}

Quality image_quality(const QualityImage& pred, const QualityImage& ref, const QualityOptions& options,
                      const char* what) {
    check_pair(pred, ref, what);
    RV_CHECK(pred.max_value == ref.max_value, ErrorCode::kInvalidArgument, what, ": prediction has ",
             pred.max_value == 255.0 ? "8" : "16", "-bit samples and the reference ",
             ref.max_value == 255.0 ? "8" : "16", "-bit; save both with the same bit depth");
    QualityImage p = crop_border(pred, options.crop_border);
    QualityImage r = crop_border(ref, options.crop_border);
    Quality q;
    if (options.rules == QualityRules::kBasicSR) {
        p = to_basicsr_scale(p);
        r = to_basicsr_scale(r);
        if (options.y_channel) {
            p = to_y_channel(p);
            r = to_y_channel(r);
        }
        RV_CHECK(p.height >= kWin && p.width >= kWin, ErrorCode::kInvalidArgument, what,
                 ": SSIM (BasicSR) needs at least 11x11 pixels after cropping; it is ", p.width, "x",
                 p.height);
        q.psnr = psnr(p, r, 255.0);
        q.ssim = ssim(p, r, 255.0, SsimWindow::kValid);
    } else {
        if (options.y_channel) {
            p = to_y_channel(p);
            r = to_y_channel(r);
        }
        const auto [lo, hi] = std::minmax_element(r.values.begin(), r.values.end());
        const double range = *hi - *lo;
        RV_CHECK(range > 0.0, ErrorCode::kInvalidArgument, what,
                 ": the reference is constant, so its data range (max - min, the medical rules) is 0 and "
                 "PSNR/SSIM are undefined; use the BasicSR rules for this image");
        q.psnr = psnr(p, r, range);
        q.ssim = ssim(p, r, range, SsimWindow::kSameZeroPad);
    }
    return q;
}

}  // namespace rv::metrics
