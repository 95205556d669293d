// Reference Bi-WKV (spec §2.6). Layer: vision/ops/ref.
#include "vision/ops/ref/bi_wkv_ref.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "vision/core/error.h"

namespace rv::ops::ref {
namespace {
constexpr double kMinScale = -1e38;  // the kernel's MIN_VALUE: log-scale of an empty sum
}  // namespace

void bi_wkv_channels(const float* decay, const float* first, const float* k, const float* v, float* y,
                     int64_t T, int64_t C, int64_t c0, int64_t c1, const BiWkvParams& params) {
    RV_CHECK(params.token_split >= 1, ErrorCode::kInvalidArgument, "token_split must be >= 1, got ",
             params.token_split);
    if (T <= 0) return;
    const int64_t chunk = (T + params.token_split - 1) / params.token_split;  // S = ceil(T / TS)
    // P/Pd: past prefix sums (weight of j < t is e^{k_j - (t-1-j)w}); Q/Qd: future suffix sums
    // (weight of j > t is e^{k_j - (j-t)w}); all relative to e^{kmax}.
    std::vector<double> P(static_cast<size_t>(T + 1)), Pd(P.size()), Q(static_cast<size_t>(T)), Qd(Q.size());
    std::vector<double> ek(static_cast<size_t>(T)), vv(static_cast<size_t>(T));
    const auto max_chunks = static_cast<size_t>(params.token_split);
    std::vector<double> chunk_future(max_chunks), chunk_past(max_chunks);
    const float Tf = static_cast<float>(T);
    RV_CHECK(0 <= c0 && c0 <= c1 && c1 <= C, ErrorCode::kInvalidArgument, "bi_wkv: channel range [", c0, ", ",
             c1, ") is not within [0, ", C, ")");
    for (int64_t c = c0; c < c1; ++c) {
        const double w = static_cast<double>(decay[c] / Tf);
        const double u = static_cast<double>(first[c] / Tf);
        const double E = std::exp(w), Ei = std::exp(-w), eu = std::exp(u);
        double kmax = -INFINITY;
        for (int64_t t = 0; t < T; ++t) kmax = std::max(kmax, static_cast<double>(k[t * C + c]));
        for (int64_t t = 0; t < T; ++t) {
            const auto i = static_cast<size_t>(t);
            ek[i] = std::exp(static_cast<double>(k[t * C + c]) - kmax);
            vv[i] = static_cast<double>(v[t * C + c]);
        }
        P[0] = Pd[0] = 0.0;
        for (size_t t = 0; t < static_cast<size_t>(T); ++t) {
            P[t + 1] = Ei * P[t] + ek[t] * vv[t];
            Pd[t + 1] = Ei * Pd[t] + ek[t];
        }
        Q[static_cast<size_t>(T - 1)] = Qd[static_cast<size_t>(T - 1)] = 0.0;
        for (int64_t t = T - 2; t >= 0; --t) {
            const auto i = static_cast<size_t>(t);
            Q[i] = Ei * (Q[i + 1] + ek[i + 1] * vv[i + 1]);
            Qd[i] = Ei * (Qd[i + 1] + ek[i + 1]);
        }
        // The kernel's log-scales: per chunk m, the largest exponent of its forward pass
        // (k_j - w(j - t0)) and of its backward pass (k_j - w(t0 + L - j)).
        const int64_t n_chunks = (T + chunk - 1) / chunk;
        for (int64_t m = 0; m < n_chunks; ++m) {
            const int64_t t0 = m * chunk, L = std::min(chunk, T - t0);
            double f = kMinScale, p = kMinScale;
            for (int64_t j = t0; j < t0 + L; ++j) {
                const double kj = static_cast<double>(k[j * C + c]);
                f = std::max(f, kj - w * static_cast<double>(j - t0));
                p = std::max(p, kj - w * static_cast<double>(t0 + L - j));
            }
            chunk_future[static_cast<size_t>(m)] = f;
            chunk_past[static_cast<size_t>(m)] = p;
        }
        for (int64_t t0 = 0; t0 < T; t0 += chunk) {
            const auto s0 = static_cast<size_t>(t0);
            const int64_t m = t0 / chunk;
            double o_past = kMinScale, o_future = kMinScale;
            for (int64_t i = 0; i < m; ++i)
                o_past = std::max(o_past, chunk_past[static_cast<size_t>(i)] -
                                              w * static_cast<double>((m - i - 1) * chunk));
            for (int64_t i = m; i < n_chunks; ++i)
                o_future = std::max(o_future, chunk_future[static_cast<size_t>(i)] -
                                                  w * static_cast<double>((i - m) * chunk));
            double A = Ei * P[s0], Ad = Ei * Pd[s0], F = Q[s0], Fd = Qd[s0];
            const int64_t t1 = std::min(t0 + chunk, T);
            for (int64_t t = t0; t < t1; ++t) {
                const auto i = static_cast<size_t>(t);
                const double kt = static_cast<double>(k[t * C + c]);
                const double no = std::max({o_future, u + kt, o_past});
                const double e = eu * ek[i];
                const double num = A + F + e * vv[i];
                const double den = Ad + Fd + e + static_cast<double>(params.eps) * std::exp(no - kmax);
                const double k_next = static_cast<double>(k[((t + 1) % T) * C + c]);
                o_past = std::max(o_past - w, kt);
                o_future = std::max(o_future + w, k_next + w);
                y[t * C + c] = static_cast<float>(num / den);
                A = Ei * A + ek[i] * vv[i];
                Ad = Ei * Ad + ek[i];
                if (t + 1 < T) {
                    F = E * (F - ek[i + 1] * vv[i + 1]);
                    Fd = E * (Fd - ek[i + 1]);
                }
            }
        }
    }
}

void bi_wkv(const float* decay, const float* first, const float* k, const float* v, float* y, int64_t B,
            int64_t T, int64_t C, const BiWkvParams& params) {
    for (int64_t b = 0; b < B; ++b) {
        const int64_t off = b * T * C;
        bi_wkv_channels(decay, first, k + off, v + off, y + off, T, C, 0, C, params);
    }
}

}  // namespace rv::ops::ref
