// Reference Linear and LayerNorm. Layer: vision/ops/ref.
#include "vision/ops/ref/linear_ref.h"

#include <cmath>

namespace rv::ops::ref {

void linear(const float* x, const float* w, const float* bias, float* y, int64_t M, int64_t K, int64_t N) {
    for (int64_t m = 0; m < M; ++m) {
        const float* xr = x + m * K;
        for (int64_t n = 0; n < N; ++n) {
            const float* wr = w + n * K;
            double acc = bias ? static_cast<double>(bias[n]) : 0.0;
            for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(xr[k]) * static_cast<double>(wr[k]);
            y[m * N + n] = static_cast<float>(acc);
        }
    }
}

void layer_norm(const float* x, const float* gamma, const float* beta, float* y, int64_t rows, int64_t C,
                float eps) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x + r * C;
        float* yr = y + r * C;
        double mean = 0.0;
        for (int64_t c = 0; c < C; ++c) mean += static_cast<double>(xr[c]);
        mean /= static_cast<double>(C);
        double var = 0.0;
        for (int64_t c = 0; c < C; ++c) {
            const double d = static_cast<double>(xr[c]) - mean;
            var += d * d;
        }
        var /= static_cast<double>(C);
        const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
        for (int64_t c = 0; c < C; ++c) {
            double v = (static_cast<double>(xr[c]) - mean) * inv;
            if (gamma) v *= static_cast<double>(gamma[c]);
            if (beta) v += static_cast<double>(beta[c]);
            yr[c] = static_cast<float>(v);
        }
    }
}

}  // namespace rv::ops::ref
