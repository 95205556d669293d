// Bi-WKV reference recursion against an independent O(T²) evaluation of the effective-weight
// table of spec §2.6, on awkward sizes, chunkings and extreme k (stability).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "vision/ops/ref/bi_wkv_ref.h"

namespace rv::test {
namespace {

// W_tj from the table in spec §2.6, evaluated directly (long double, shifted by max k), EPS 0.
std::vector<float> brute_force(const std::vector<float>& decay, const std::vector<float>& first,
                               const std::vector<float>& k, const std::vector<float>& v, int64_t T, int64_t C,
                               int ts, float eps) {
    std::vector<float> y(static_cast<size_t>(T * C));
    const int64_t S = (T + ts - 1) / ts;
    for (int64_t c = 0; c < C; ++c) {
        const long double w = decay[static_cast<size_t>(c)] / static_cast<float>(T);
        const long double u = first[static_cast<size_t>(c)] / static_cast<float>(T);
        long double kmax = -INFINITY;
        for (int64_t t = 0; t < T; ++t) kmax = std::max<long double>(kmax, k[static_cast<size_t>(t * C + c)]);
        auto K = [&](int64_t j) {
            return static_cast<long double>(k[static_cast<size_t>(j * C + c)]) - kmax;
        };
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
                        (j > t0 ? (1 - std::exp(w)) * std::exp(K(j) + static_cast<long double>(t - j) * w)
                                : 0.0L);
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

// A line-by-line simulation of the official kernel (classification/.../cuda_new/bi_wkv_kernel.cu:
// per-chunk local sums, cross-chunk combination, then the per-token walk), all sums kept as
// (mantissa, log-scale) pairs exactly as the kernel does, in long double. One channel.
std::vector<long double> kernel_simulation(long double w, long double u, const std::vector<long double>& k,
                                           const std::vector<long double>& v, int ts, long double eps) {
    const auto T = static_cast<int64_t>(k.size());
    const int64_t S = (T + ts - 1) / ts;
    constexpr long double kMin = -1e38L;
    struct Chunk {
        int64_t t0, L;
        long double a, b, c, d, o1, o2;
    };
    std::vector<Chunk> ch(static_cast<size_t>(ts));
    auto K = [&](int64_t i) { return k[static_cast<size_t>(i)]; };
    auto V = [&](int64_t i) { return v[static_cast<size_t>(i)]; };
    for (int64_t tid = 0; tid < ts; ++tid) {
        Chunk x{S * tid, std::min(T - S * tid, S), 0, 0, 0, 0, kMin, kMin};
        for (int64_t i = x.t0; i < x.t0 + std::max<int64_t>(x.L, 0); ++i) {
            long double no = std::max(x.o1, K(i) - w * static_cast<long double>(i - x.t0));
            long double e1 = std::exp(x.o1 - no),
                        e3 = std::exp(K(i) - w * static_cast<long double>(i - x.t0) - no);
            x.c = e1 * x.c + e3 * V(i);
            x.d = e1 * x.d + e3;
            x.o1 = no;
            const int64_t ni = 2 * x.t0 + x.L - 1 - i, ew = x.t0 + x.L - ni;
            no = std::max(x.o2, K(ni) - w * static_cast<long double>(ew));
            const long double e2 = std::exp(x.o2 - no);
            e3 = std::exp(K(ni) - w * static_cast<long double>(ew) - no);
            x.a = e2 * x.a + e3 * V(ni);
            x.b = e2 * x.b + e3;
            x.o2 = no;
        }
        ch[static_cast<size_t>(tid)] = x;
    }
    std::vector<long double> y(static_cast<size_t>(T));
    for (int64_t tid = 0; tid < ts; ++tid) {
        const Chunk& me = ch[static_cast<size_t>(tid)];
        if (me.L <= 0) continue;
        long double a = 0, b = 0, o2 = kMin, c = 0, d = 0, o1 = kMin;
        for (int64_t i = 0; i < tid; ++i) {
            const Chunk& o = ch[static_cast<size_t>(i)];
            const long double ew = static_cast<long double>((tid - i - 1) * S),
                              no = std::max(o.o2 - w * ew, o2);
            a = a * std::exp(o2 - no) + o.a * std::exp(o.o2 - w * ew - no);
            b = b * std::exp(o2 - no) + o.b * std::exp(o.o2 - w * ew - no);
            o2 = no;
        }
        for (int64_t i = tid; i < ts; ++i) {
            const Chunk& o = ch[static_cast<size_t>(i)];
            const long double ew = static_cast<long double>((i - tid) * S), no = std::max(o.o1 - w * ew, o1);
            c = c * std::exp(o1 - no) + o.c * std::exp(o.o1 - w * ew - no);
            d = d * std::exp(o1 - no) + o.d * std::exp(o.o1 - w * ew - no);
            o1 = no;
        }
        c -= std::exp(K(me.t0) - o1) * V(me.t0);
        d -= std::exp(K(me.t0) - o1);
        for (int64_t i = me.t0; i < me.t0 + me.L; ++i) {
            long double no = std::max({o1, u + K(i), o2});
            const long double e1 = std::exp(o1 - no), e2 = std::exp(o2 - no), e3 = std::exp(u + K(i) - no);
            y[static_cast<size_t>(i)] = (c * e1 + a * e2 + e3 * V(i)) / (d * e1 + b * e2 + e3 + eps);
            const int64_t i2 = (i + 1) % T;
            no = std::max(o2 - w, K(i));
            a = std::exp(o2 - w - no) * a + std::exp(K(i) - no) * V(i);
            b = std::exp(o2 - w - no) * b + std::exp(K(i) - no);
            o2 = no;
            no = std::max(o1 + w, K(i2) + w);
            c = std::exp(o1 + w - no) * c - std::exp(K(i2) + w - no) * V(i2);
            d = std::exp(o1 + w - no) * d - std::exp(K(i2) + w - no);
            o1 = no;
        }
    }
    return y;
}

TEST(BiWkvRef, MatchesKernelSimulationIncludingEps) {
    // Large positive decay makes the kernel's future log-scale drift above max k, which is where
    // the placement of EPS matters (it can move outputs by far more than 1e-6).
    std::mt19937 rng(11);
    std::normal_distribution<float> N(0.0f, 1.0f);
    for (const int64_t T : {1, 5, 49, 196, 300}) {
        for (const float decay : {-8.0f, 1.0f, 8.0f, 15.0f}) {
            for (const float spread : {0.0f, 20.0f}) {
                for (const int ts : {16, 32}) {
                    const int64_t C = 2;
                    std::vector<float> dec(C, decay), first(C, 0.5f), k(static_cast<size_t>(T * C)),
                        v(k.size()), y(k.size());
                    for (auto& x : k) x = 3.0f * N(rng);
                    for (auto& x : v) x = N(rng);
                    k[0] += spread;
                    ops::ref::bi_wkv(dec.data(), first.data(), k.data(), v.data(), y.data(), 1, T, C,
                                     {ts, 1e-6f});
                    for (int64_t c = 0; c < C; ++c) {
                        std::vector<long double> kk, vv;
                        for (int64_t t = 0; t < T; ++t) {
                            kk.push_back(k[static_cast<size_t>(t * C + c)]);
                            vv.push_back(v[static_cast<size_t>(t * C + c)]);
                        }
                        const long double w = decay / static_cast<float>(T), u = 0.5f / static_cast<float>(T);
                        const auto expected = kernel_simulation(w, u, kk, vv, ts, 1e-6L);
                        for (int64_t t = 0; t < T; ++t) {
                            const double e = static_cast<double>(expected[static_cast<size_t>(t)]);
                            ASSERT_NEAR(y[static_cast<size_t>(t * C + c)], e,
                                        2e-5 * std::max(1.0, std::fabs(e)))
                                << "T=" << T << " decay=" << decay << " spread=" << spread << " ts=" << ts
                                << " t=" << t;
                        }
                    }
                }
            }
        }
    }
}

struct Case {
    int64_t T;
    int ts;
    float k_scale;
    float decay_scale;
};

TEST(BiWkvRef, MatchesWeightTable) {
    const Case cases[] = {{1, 32, 1, 5},  {2, 32, 1, 5},   {7, 32, 1, 5},    {33, 32, 1, 5},   {50, 16, 1, 8},
                          {65, 64, 2, 5}, {196, 32, 1, 5}, {300, 16, 1, 3},  {97, 7, 1, -6},   {40, 1, 1, 4},
                          {40, 40, 1, 4}, {40, 100, 1, 4}, {64, 32, 150, 2}, {128, 32, 400, 1}};
    std::mt19937 rng(7);
    for (const auto& cs : cases) {
        const int64_t C = 5;
        std::uniform_real_distribution<float> U(-1.0f, 1.0f);
        std::vector<float> decay(C), first(C), k(static_cast<size_t>(cs.T * C)), v(k.size()), y(k.size());
        for (auto& d : decay) d = cs.decay_scale * U(rng);
        for (auto& f : first) f = 2.0f * U(rng);
        for (auto& x : k) x = cs.k_scale * U(rng);
        for (auto& x : v) x = U(rng);
        ops::ref::bi_wkv(decay.data(), first.data(), k.data(), v.data(), y.data(), 1, cs.T, C, {cs.ts, 0.0f});
        const auto expected = brute_force(decay, first, k, v, cs.T, C, cs.ts, 0.0f);
        for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_TRUE(std::isfinite(y[i])) << "T=" << cs.T << " ts=" << cs.ts << " i=" << i;
            // The subtraction in the future recursion costs a few ulps relative to the largest term.
            ASSERT_NEAR(y[i], expected[i], 2e-5)
                << "T=" << cs.T << " ts=" << cs.ts << " k_scale=" << cs.k_scale << " i=" << i;
        }
    }
}

TEST(BiWkvRef, HugeKeysDoNotOverflow) {
    // k > 88 overflows e^k in fp32; the max shift must keep every output finite and exact.
    const int64_t T = 20, C = 3;
    std::vector<float> decay(C, 1.0f), first(C, 0.5f), k(static_cast<size_t>(T * C), 1000.0f), v(k.size()),
        y(k.size());
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
