// oneDNN Linear against the reference Linear on awkward sizes (M, K, N not multiples of the
// vector width; M = 1; with and without bias), and the primitive cache across row counts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "tests/support/parity.h"
#include "vision/core/error.h"
#include "vision/ops/linear.h"
#include "vision/ops/ref/linear_ref.h"
#include "vision/ops/split_linear.h"

namespace rv::test {
namespace {

// Post-op case number `extras` (bit 0: mul, bit 1: scale, bit 2: accumulate) with activation act.
ops::PostOps post_ops_case(ops::PostOps::Act act, int extras, const Tensor& mul, const Tensor& scale) {
    ops::PostOps post;
    post.act = act;
    post.mul = (extras & 1) ? mul.data() : nullptr;
    post.scale = (extras & 2) ? scale.data() : nullptr;
    post.accumulate = (extras & 4) != 0;
    return post;
}

// What the post-ops should give, in double: y0 is the output buffer's content before the call.
Tensor apply_post_ops(const Tensor& z, const Tensor& y0, const ops::PostOps& post, int64_t M, int64_t N) {
    using Act = ops::PostOps::Act;
    Tensor want({M, N});
    for (int64_t i = 0; i < M * N; ++i) {
        double v = static_cast<double>(z[i]);
        if (post.act == Act::kSigmoid) v = 1.0 / (1.0 + std::exp(-v));
        if (post.act == Act::kReluSquare) v = v > 0 ? v * v : 0.0;
        if (post.mul) v *= static_cast<double>(post.mul[i]);
        if (post.scale) v *= static_cast<double>(post.scale[i % N]);
        if (post.accumulate) v += static_cast<double>(y0[i]);
        want[i] = static_cast<float>(v);
    }
    return want;
}

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

// Every combination of post-ops, fused by oneDNN where it can and by our epilogue otherwise
// (fusion off), against the reference matmul followed by the same ops in double.
TEST(Linear, PostOpsMatchReference) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> U(-1.0f, 1.0f);
    using Act = ops::PostOps::Act;
    const int64_t shapes[][3] = {{1, 33, 17}, {7, 16, 40}, {196, 64, 48}};
    for (bool fusion : {true, false}) {
        ops::set_matmul_fusion(fusion);
        for (const auto& sh : shapes) {
            const int64_t M = sh[0], K = sh[1], N = sh[2];
            Tensor x({M, K}), w({N, K}), mul({M, N}), scale({N}), y0({M, N}), z({M, N});
            for (Tensor* t : {&x, &w, &mul, &scale, &y0})
                for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = U(rng);
            ops::ref::linear(x.data(), w.data(), nullptr, z.data(), M, K, N);
            ops::Linear l;
            l.set_weights(w, nullptr);
            l.prepare(ops::Precision::kF32);
            for (Act act : {Act::kNone, Act::kSigmoid, Act::kReluSquare})
                for (int extras = 0; extras < 8; ++extras) {
                    const ops::PostOps post = post_ops_case(act, extras, mul, scale);
                    const Tensor want = apply_post_ops(z, y0, post, M, N);
                    Tensor got = y0.clone();
                    std::vector<std::byte> scratch(l.scratch_bytes(M, post) + 64);
                    auto* aligned = reinterpret_cast<std::byte*>(
                        (reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
                    l.forward(x.data(), M, got.data(), post, aligned);
                    const std::string what = "post-ops fusion=" + std::to_string(fusion) +
                                             " act=" + std::to_string(static_cast<int>(act)) +
                                             " extras=" + std::to_string(extras) + " M=" + std::to_string(M) +
                                             " (" + l.implementation(M, post) + ")";
                    expect_close(what, got.data(), want, 2e-5 * std::sqrt(static_cast<double>(K)));
                }
        }
    }
    ops::set_matmul_fusion(true);
}

// SplitLinear (columns in parts, each written with the full row stride) against the reference, for
// every post-op combination, fused and unfused.
TEST(SplitLinear, MatchesReferenceWithPostOps) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> U(-1.0f, 1.0f);
    using Act = ops::PostOps::Act;
    for (bool fusion : {true, false}) {
        ops::set_matmul_fusion(fusion);
        for (int64_t N : {17, 128, 192, 200, 768}) {
            const int64_t M = 37, K = 48;
            Tensor x({M, K}), w({N, K}), b({N}), mul({M, N}), scale({N}), y0({M, N}), z({M, N});
            for (Tensor* t : {&x, &w, &b, &mul, &scale, &y0})
                for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = U(rng);
            ops::ref::linear(x.data(), w.data(), b.data(), z.data(), M, K, N);
            ops::SplitLinear l;
            l.set_weights(w, &b);
            l.prepare(ops::Precision::kF32);
            EXPECT_EQ(l.parts(), ops::SplitLinear::parts_for(N));  // part widths round up to 16 columns
            for (Act act : {Act::kNone, Act::kSigmoid, Act::kReluSquare})
                for (int extras = 0; extras < 8; ++extras) {
                    const ops::PostOps post = post_ops_case(act, extras, mul, scale);
                    const Tensor want = apply_post_ops(z, y0, post, M, N);
                    Tensor got = y0.clone();
                    l.forward(x.data(), M, got.data(), post);
                    expect_close("split N=" + std::to_string(N) + " fusion=" + std::to_string(fusion) +
                                     " act=" + std::to_string(static_cast<int>(act)) +
                                     " extras=" + std::to_string(extras),
                                 got.data(), want, 2e-5 * std::sqrt(static_cast<double>(K)));
                }
        }
    }
    ops::set_matmul_fusion(true);
}

// Packing drops the plain weights; other row counts still work (reordered from the packed copy).
TEST(Linear, PackedWeightsServeEveryRowCount) {
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> U(-1.0f, 1.0f);
    const int64_t K = 40, N = 24;
    Tensor w({N, K}), b({N});
    for (int64_t i = 0; i < w.numel(); ++i) w[i] = U(rng);
    for (int64_t i = 0; i < b.numel(); ++i) b[i] = U(rng);
    ops::Linear l;
    l.set_weights(w, &b);
    l.prepare(ops::Precision::kF32);
    EXPECT_GT(l.weight_bytes(), 0u);
    for (int64_t M : {1, 3, 256, 1000}) {
        Tensor x({M, K}), ref({M, N}), got({M, N});
        for (int64_t i = 0; i < x.numel(); ++i) x[i] = U(rng);
        ops::ref::linear(x.data(), w.data(), b.data(), ref.data(), M, K, N);
        l.forward(x.data(), M, got.data());
        expect_close("packed M=" + std::to_string(M), got.data(), ref, 1e-4);
    }
    // The precision is chosen once (and on a CPU without bf16 it cannot be bf16 at all): an error.
    EXPECT_THROW(l.prepare(ops::Precision::kBf16), Error);
}

TEST(Linear, Bf16MatchesReferenceWithinBf16Rounding) {
    if (!ops::bf16_supported()) GTEST_SKIP() << "bf16 matmuls need AVX-512 (this CPU lacks it)";
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> U(-1.0f, 1.0f);
    const int64_t M = 50, K = 192, N = 64;
    Tensor x({M, K}), w({N, K}), ref({M, N}), got({M, N});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = U(rng);
    for (int64_t i = 0; i < w.numel(); ++i) w[i] = U(rng);
    ops::ref::linear(x.data(), w.data(), nullptr, ref.data(), M, K, N);
    ops::Linear l;
    l.set_weights(w, nullptr);
    l.prepare(ops::Precision::kBf16);
    l.forward(x.data(), M, got.data());
    // Inputs and weights rounded to 8 mantissa bits (relative 2^-9 each), sums of K terms of
    // magnitude <= 1 with random signs: error ~ sqrt(K)·2·2^-9.
    expect_close("bf16 linear", got.data(), ref, 4.0 * std::sqrt(static_cast<double>(K)) / 512.0);
}

TEST(Linear, ParsesPrecision) {
    EXPECT_EQ(ops::parse_precision("fp32"), ops::Precision::kF32);
    EXPECT_EQ(ops::parse_precision("bf16"), ops::Precision::kBf16);
    EXPECT_THROW(ops::parse_precision("fp8"), Error);
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
