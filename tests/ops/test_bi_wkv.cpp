// Bi-WKV reference recursion against an independent O(T²) evaluation of the effective-weight
// table of spec §2.6, on awkward sizes, chunkings and extreme k (stability).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "vision/ops/ref/bi_wkv_ref.h"

namespace rv::test {
namespace {

// W_tj from the table in spec §2.6, evaluated directly (long double, shifted by max k).
std::vector<float> brute_force(const std::vector<float>& decay, const std::vector<float>& first,
                               const std::vector<float>& k, const std::vector<float>& v, int64_t T, int64_t C, int ts,
                               float eps) {
    std::vector<float> y(static_cast<size_t>(T * C));
    const int64_t S = (T + ts - 1) / ts;
    for (int64_t c = 0; c < C; ++c) {
        const long double w = decay[static_cast<size_t>(c)] / static_cast<float>(T);
        const long double u = first[static_cast<size_t>(c)] / static_cast<float>(T);
        long double kmax = -INFINITY;
        for (int64_t t = 0; t < T; ++t) kmax = std::max<long double>(kmax, k[static_cast<size_t>(t * C + c)]);
        auto K = [&](int64_t j) { return static_cast<long double>(k[static_cast<size_t>(j * C + c)]) - kmax; };
        for (int64_t t = 0; t < T; ++t) {
            const int64_t t0 = (t / S) * S;
            long double num = 0, den = 0;
            for (int64_t j = 0; j < T; ++j) {
                long double W;
                if (j == t)
                    W = std::exp(u + K(t)) + (t > t0 ? (1 - std::exp(w)) * std::exp(K(t)) : 0.0L);
                else if (j < t0)
                    W = std::exp(K(j) - static_cast<long double>(t - j) * w);
                else if (j < t)
                    W = std::exp(K(j) - static_cast<long double>(t - j - 1) * w) +
                        (j > t0 ? (1 - std::exp(w)) * std::exp(K(j) + static_cast<long double>(t - j) * w) : 0.0L);
                else
                    W = std::exp(K(j) - static_cast<long double>(j - t) * w);
                num += W * v[static_cast<size_t>(j * C + c)];
                den += W;
            }
            y[static_cast<size_t>(t * C + c)] = static_cast<float>(num / (den + eps));
        }
    }
    return y;
}

struct Case {
    int64_t T;
    int ts;
    float k_scale;
    float decay_scale;
};

TEST(BiWkvRef, MatchesWeightTable) {
    const Case cases[] = {{1, 32, 1, 5},   {2, 32, 1, 5},   {7, 32, 1, 5},   {33, 32, 1, 5},  {50, 16, 1, 8},
                          {65, 64, 2, 5},  {196, 32, 1, 5}, {300, 16, 1, 3}, {97, 7, 1, -6},  {40, 1, 1, 4},
                          {40, 40, 1, 4},  {40, 100, 1, 4}, {64, 32, 150, 2}, {128, 32, 400, 1}};
    std::mt19937 rng(7);
    for (const auto& cs : cases) {
        const int64_t C = 5;
        std::uniform_real_distribution<float> U(-1.0f, 1.0f);
        std::vector<float> decay(C), first(C), k(static_cast<size_t>(cs.T * C)), v(k.size()), y(k.size());
        for (auto& d : decay) d = cs.decay_scale * U(rng);
        for (auto& f : first) f = 2.0f * U(rng);
        for (auto& x : k) x = cs.k_scale * U(rng);
        for (auto& x : v) x = U(rng);
        ops::ref::bi_wkv(decay.data(), first.data(), k.data(), v.data(), y.data(), 1, cs.T, C, {cs.ts, 1e-6f});
        const auto expected = brute_force(decay, first, k, v, cs.T, C, cs.ts, 1e-6f);
        for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_TRUE(std::isfinite(y[i])) << "T=" << cs.T << " ts=" << cs.ts << " i=" << i;
            // The subtraction in the future recursion costs a few ulps relative to the largest term.
            ASSERT_NEAR(y[i], expected[i], 2e-5) << "T=" << cs.T << " ts=" << cs.ts << " k_scale=" << cs.k_scale
                                                 << " i=" << i;
        }
    }
}

TEST(BiWkvRef, HugeKeysDoNotOverflow) {
    // k > 88 overflows e^k in fp32; the max shift must keep every output finite and exact.
    const int64_t T = 20, C = 3;
    std::vector<float> decay(C, 1.0f), first(C, 0.5f), k(static_cast<size_t>(T * C), 1000.0f), v(k.size()), y(k.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 7) - 3.0f;
    k[4 * C] = 1090.0f;  // one token dominates channel 0
    ops::ref::bi_wkv(decay.data(), first.data(), k.data(), v.data(), y.data(), 1, T, C, {});
    for (float e : y) ASSERT_TRUE(std::isfinite(e));
    EXPECT_NEAR(y[0], v[4 * C], 1e-4);  // output 0 is dominated by the huge token
}

TEST(BiWkvRef, RejectsBadTokenSplit) {
    float d = 0, f = 0, k = 0, v = 0, y = 0;
    EXPECT_THROW(ops::ref::bi_wkv(&d, &f, &k, &v, &y, 1, 1, 1, {0, 1e-6f}), std::exception);
}

}  // namespace
}  // namespace rv::test
