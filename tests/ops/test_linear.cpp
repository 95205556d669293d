// oneDNN Linear against the reference Linear on awkward sizes (M, K, N not multiples of the
// vector width; M = 1; with and without bias), and the primitive cache across row counts.
#include <gtest/gtest.h>

#include <random>

#include "tests/support/parity.h"
#include "vision/ops/linear.h"
#include "vision/ops/ref/linear_ref.h"

namespace rv::test {
namespace {

TEST(Linear, OneDnnMatchesReference) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> U(-1.0f, 1.0f);
    const int64_t shapes[][3] = {{1, 1, 1},     {1, 17, 5},      {7, 3, 33},
                                 {49, 96, 384}, {196, 192, 768}, {13, 1000, 10}};
    for (const auto& sh : shapes) {
        const int64_t M = sh[0], K = sh[1], N = sh[2];
        for (bool with_bias : {false, true}) {
            Tensor x({M, K}), w({N, K}), b({N}), ref({M, N}), got({M, N});
            for (int64_t i = 0; i < x.numel(); ++i) x[i] = U(rng);
            for (int64_t i = 0; i < w.numel(); ++i) w[i] = U(rng);
            for (int64_t i = 0; i < b.numel(); ++i) b[i] = U(rng);
            ops::Linear l;
            l.set_weights(w, with_bias ? &b : nullptr);
            ops::ref::linear(x.data(), w.data(), with_bias ? b.data() : nullptr, ref.data(), M, K, N);
            l.forward(x.data(), M, got.data());
            // fp32 sums of K products of O(1) terms, reordered: error grows like sqrt(K)·ulp.
            expect_close(
                "linear M=" + std::to_string(M) + " K=" + std::to_string(K) + " N=" + std::to_string(N),
                got.data(), ref, 1e-5 * std::sqrt(static_cast<double>(K)) + 1e-6);
            // A second row count reuses the weights with a new primitive.
            if (M > 1) {
                Tensor got1({1, N});
                l.forward(x.data(), 1, got1.data());
                for (int64_t n = 0; n < N; ++n) EXPECT_NEAR(got1[n], ref[n], 1e-4);
            }
        }
    }
}

TEST(Linear, RejectsBadWeights) {
    ops::Linear l;
    Tensor w3({2, 2, 2});
    EXPECT_THROW(l.set_weights(w3, nullptr), std::exception);
    Tensor w({3, 2}), b({4});
    EXPECT_THROW(l.set_weights(w, &b), std::exception);
}

}  // namespace
}  // namespace rv::test
