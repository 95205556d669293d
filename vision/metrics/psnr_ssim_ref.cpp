// Plain reference SSIM: the 11x11 Gaussian window summed directly at every output pixel, as
// BasicSR's cv2.filter2D (then cropped) and Restore-RWKV's F.conv2d(padding=5) do. Layer:
// vision/metrics. Kept for tests of the separable version in psnr_ssim.cpp.
#include <cmath>

#include "vision/core/error.h"
#include "vision/metrics/psnr_ssim.h"

namespace rv::metrics::ref {

double ssim(const QualityImage& pred, const QualityImage& ref, double data_range, SsimWindow window) {
    RV_CHECK(pred.height == ref.height && pred.width == ref.width && pred.channels == ref.channels,
             ErrorCode::kShapeMismatch, "ref::ssim: images differ in size or channels");
    const auto g = gaussian_window_1d();
    const double c1 = (0.01 * data_range) * (0.01 * data_range);
    const double c2 = (0.03 * data_range) * (0.03 * data_range);
    const int64_t H = pred.height, W = pred.width;
    const bool valid = window == SsimWindow::kValid;
    const int64_t y0 = valid ? 5 : 0, y1 = valid ? H - 5 : H;
    const int64_t x0 = valid ? 5 : 0, x1 = valid ? W - 5 : W;
    RV_CHECK(y1 > y0 && x1 > x0, ErrorCode::kInvalidArgument, "ref::ssim: image smaller than the window");
    double total = 0.0;
    for (int64_t c = 0; c < pred.channels; ++c) {
        double sum = 0.0;
        for (int64_t y = y0; y < y1; ++y)
            for (int64_t x = x0; x < x1; ++x) {
                double m1 = 0, m2 = 0, e11 = 0, e22 = 0, e12 = 0;
                for (int64_t dy = -5; dy <= 5; ++dy)
                    for (int64_t dx = -5; dx <= 5; ++dx) {
                        const int64_t sy = y + dy, sx = x + dx;
                        if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;  // zero padding
                        const double w = g[static_cast<size_t>(dy + 5)] * g[static_cast<size_t>(dx + 5)];
                        const double a = pred.at(sy, sx, c), b = ref.at(sy, sx, c);
                        m1 += w * a;
                        m2 += w * b;
                        e11 += w * a * a;
                        e22 += w * b * b;
                        e12 += w * a * b;
                    }
                const double s11 = e11 - m1 * m1, s22 = e22 - m2 * m2, s12 = e12 - m1 * m2;
                sum += ((2 * m1 * m2 + c1) * (2 * s12 + c2)) / ((m1 * m1 + m2 * m2 + c1) * (s11 + s22 + c2));
            }
        total += sum / static_cast<double>((y1 - y0) * (x1 - x0));
    }
    return total / static_cast<double>(pred.channels);
}

}  // namespace rv::metrics::ref
