// scipy.ndimage.zoom, orders 0 and 3 (see spline_zoom.h). Separable: rows first, then columns,
// in double precision like scipy (which filters in float64 and rounds to the input dtype once).
// Layer: vision/image.
#include "vision/image/spline_zoom.h"

#include <cmath>
#include <vector>

#include "vision/core/error.h"

namespace rv::image {
namespace {

// Whole-sample mirror of an index into [0, n): -1 → 1, n → n - 2.
int64_t mirror(int64_t i, int64_t n) {
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

// In-place cubic B-spline prefilter of one line (pole sqrt(3) - 2, mirror boundary, Unser's
// recursive filter as scipy's spline_filter1d runs it).
void prefilter_line(double* c, int64_t n, int64_t stride) {
    if (n < 2) return;
    const double z = std::sqrt(3.0) - 2.0;
    const double gain = (1.0 - z) * (1.0 - 1.0 / z);
    for (int64_t i = 0; i < n; ++i) c[i * stride] *= gain;
    // Causal initialisation for a mirror-symmetric signal.
    const double zn1 = std::pow(z, static_cast<double>(n - 1));
    double c0 = c[0] + zn1 * c[(n - 1) * stride];
    double zi = z;
    for (int64_t i = 1; i < n - 1; ++i) {
        c0 += zi * (c[i * stride] + zn1 * c[(n - 1 - i) * stride]);
        zi *= z;
    }
    c[0] = c0 / (1.0 - zn1 * zn1);
    for (int64_t i = 1; i < n; ++i) c[i * stride] += z * c[(i - 1) * stride];
    c[(n - 1) * stride] = (z * c[(n - 2) * stride] + c[(n - 1) * stride]) * z / (z * z - 1.0);
    for (int64_t i = n - 2; i >= 0; --i) c[i * stride] = z * (c[(i + 1) * stride] - c[i * stride]);
}

// Cubic B-spline weights of the 4 coefficients around x (from floor(x) - 1).
void cubic_weights(double t, double w[4]) {
    const double t2 = t * t, t3 = t2 * t, u = 1.0 - t;
    w[0] = u * u * u / 6.0;
    w[1] = (4.0 - 6.0 * t2 + 3.0 * t3) / 6.0;
    w[2] = (1.0 + 3.0 * t + 3.0 * t2 - 3.0 * t3) / 6.0;
    w[3] = t3 / 6.0;
}

// One axis: out[o] = Σ w·in[mirror(k)] (order 3) or in[floor(x + 0.5)] (order 0), with the input
// coordinate x = o·(n − 1)/(on − 1).
void zoom_axis(const double* in, int64_t n, int64_t in_stride, double* out, int64_t on, int64_t out_stride,
               int64_t lines, int64_t in_line_stride, int64_t out_line_stride, int order) {
    const double scale = on > 1 ? static_cast<double>(n - 1) / static_cast<double>(on - 1) : 0.0;
    for (int64_t o = 0; o < on; ++o) {
        const double x = static_cast<double>(o) * scale;
        if (order == 0) {
            const int64_t k = std::min<int64_t>(static_cast<int64_t>(std::floor(x + 0.5)), n - 1);
            for (int64_t l = 0; l < lines; ++l)
                out[l * out_line_stride + o * out_stride] = in[l * in_line_stride + k * in_stride];
            continue;
        }
        const double f = std::floor(x);
        double w[4];
        cubic_weights(x - f, w);
        int64_t k[4];
        for (int64_t j = 0; j < 4; ++j) k[j] = mirror(static_cast<int64_t>(f) - 1 + j, n);
        for (int64_t l = 0; l < lines; ++l) {
            const double* src = in + l * in_line_stride;
            double acc = 0.0;
            for (int64_t j = 0; j < 4; ++j) acc += w[j] * src[k[j] * in_stride];
            out[l * out_line_stride + o * out_stride] = acc;
        }
    }
}

}  // namespace

void spline_zoom(const float* in, int64_t H, int64_t W, float* out, int64_t OH, int64_t OW, int order) {
    RV_CHECK(order == 0 || order == 3, ErrorCode::kInvalidArgument, "spline_zoom: order ", order,
             " (0 or 3 supported)");
    RV_CHECK(H > 0 && W > 0 && OH > 0 && OW > 0, ErrorCode::kInvalidArgument, "spline_zoom: empty plane ", H,
             "x", W, " -> ", OH, "x", OW);
    std::vector<double> c(in, in + H * W);
    if (order == 3) {
        for (int64_t r = 0; r < H; ++r) prefilter_line(c.data() + r * W, W, 1);
        for (int64_t col = 0; col < W; ++col) prefilter_line(c.data() + col, H, W);
    }
    // Columns of each row first (H × OW), then rows (OH × OW).
    std::vector<double> mid(static_cast<size_t>(H * OW)), res(static_cast<size_t>(OH * OW));
    zoom_axis(c.data(), W, 1, mid.data(), OW, 1, H, W, OW, order);
    zoom_axis(mid.data(), H, OW, res.data(), OH, OW, OW, 1, 1, order);
    for (size_t i = 0; i < res.size(); ++i) out[i] = static_cast<float>(res[i]);
}

}  // namespace rv::image
