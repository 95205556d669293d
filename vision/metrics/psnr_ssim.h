// Full-reference image quality: PSNR and SSIM under two rule sets.
// Layer: vision/metrics (depends on vision/core only; images arrive as plain double arrays).
// Python counterparts:
//  - BasicSR rules: basicsr/metrics/psnr_ssim.py calculate_psnr / calculate_ssim (crop_border,
//    test_y_channel via metric_util.to_y_channel = bgr2ycbcr(y_only=True) on [0, 1] then x255,
//    peak 255, SSIM = 11x11 Gaussian sigma 1.5 filtered 'valid' (cv2.filter2D cropped by 5), mean
//    over channels). Equal to skimage structural_similarity(gaussian_weights=True, sigma=1.5,
//    use_sample_covariance=False, data_range=255) and peak_signal_noise_ratio(data_range=255).
//  - Medical rules (Yaziwel/Restore-RWKV evaluation/evaluation_metric.py): data range = max - min
//    of the reference image, PSNR = 10 log10(range^2 / MSE), SSIM with the same Gaussian window but
//    zero padding 5 ('same' size map), C1 = (0.01 range)^2, C2 = (0.03 range)^2, mean of the map.
//
// 16-bit images are put on the BasicSR [0, 255] scale (value * 255 / 65535) before the BasicSR
// rules, so an image scores the same in 8 and 16 bits up to quantisation. Multi-channel images
// score the mean over channels (SSIM) or over all samples (PSNR), as BasicSR does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rv::metrics {

// Interleaved HWC samples as doubles, with the nominal maximum of their integer type (255, 65535).
struct QualityImage {
    int64_t height = 0;
    int64_t width = 0;
    int64_t channels = 0;  // 1 or 3 (alpha is dropped by the caller)
    double max_value = 255.0;
    std::vector<double> values;
    double at(int64_t y, int64_t x, int64_t c) const {
        return values[static_cast<size_t>((y * width + x) * channels + c)];
    }
};

enum class QualityRules { kBasicSR, kMedical };

struct QualityOptions {
    QualityRules rules = QualityRules::kBasicSR;
    int64_t crop_border = 0;  // pixels removed from every side before scoring
    bool y_channel = false;   // score the BT.601 luma Y (3-channel images only; gray is kept)
};

struct Quality {
    double psnr = 0.0;  // dB; +inf for identical images
    double ssim = 0.0;
};

// Scores `pred` against `ref` (same size, channels and max_value; throws rv::Error otherwise,
// naming `what`). Throws for images too small for the 11x11 window after cropping (BasicSR), and
// for a constant reference under the medical rules (its data range is 0).
Quality image_quality(const QualityImage& pred, const QualityImage& ref, const QualityOptions& options,
                      const char* what = "image");

// The steps, exposed for tests:
// Removes `border` pixels on each side (BasicSR img[b:-b, b:-b]).
QualityImage crop_border(const QualityImage& img, int64_t border);
// BasicSR to_y_channel on [0, 255]-scale values: Y = (65.481 R + 128.553 G + 24.966 B) / 255 + 16
// for 3 channels (RGB order); 1 channel is returned unchanged.
QualityImage to_y_channel(const QualityImage& img);
// Rescales samples to [0, 255] (value * 255 / max_value); max_value becomes 255.
QualityImage to_basicsr_scale(const QualityImage& img);

// 10 log10(peak^2 / MSE) over all samples; +inf when MSE == 0.
double psnr(const QualityImage& pred, const QualityImage& ref, double peak);

enum class SsimWindow {
    kValid,        // map of (H-10)x(W-10): BasicSR _ssim / skimage (border cropped)
    kSameZeroPad,  // map of HxW with zero padding 5: Restore-RWKV compute_SSIM
};
// Mean over channels of the mean SSIM map; c1 = (0.01 L)^2, c2 = (0.03 L)^2 with L = data_range.
// Separable Gaussian filtering (11 taps, sigma 1.5, normalised).
double ssim(const QualityImage& pred, const QualityImage& ref, double data_range, SsimWindow window);

// The 11-tap normalised Gaussian (sigma 1.5): cv2.getGaussianKernel(11, 1.5).
std::vector<double> gaussian_window_1d();

namespace ref {
// Plain reference: the 11x11 window applied directly per output pixel (no separation), one
// channel at a time. Slow; for tests of the separable version.
double ssim(const QualityImage& pred, const QualityImage& ref, double data_range, SsimWindow window);
}  // namespace ref

}  // namespace rv::metrics
