// ops::Conv2d (oneDNN, reference) against PyTorch fixtures (tests/fixtures/ops_dense,
// tools/make_conv_fixtures.py) and against each other on larger random shapes: row blocks, threads,
// concurrent callers, BatchNorm / affine folding, bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/parity.h"
#include "tests/support/tolerances.h"
#include "vision/core/error.h"
#include "vision/ops/conv2d.h"
#include "vision/ops/dense_ops.h"
#include "vision/ops/ref/conv2d_ref.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;
using ops::Activation;
using ops::Conv2d;
using ops::Conv2dPost;
using ops::Conv2dShape;
using ops::ConvImpl;

std::vector<std::string> dense_fixtures(const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(fixture_path("ops_dense")))
        if (e.path().filename().string().starts_with(prefix) && e.path().extension() == ".pth")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

Conv2dShape shape_from(const Tensor& g) {
    auto at = [&](int i) { return static_cast<int64_t>(g[i]); };
    Conv2dShape s;
    s.in = at(0);
    s.out = at(1);
    s.kh = at(2);
    s.kw = at(3);
    s.stride_h = at(4);
    s.stride_w = at(5);
    s.pad_t = at(6);
    s.pad_l = at(7);
    s.pad_b = at(8);
    s.pad_r = at(9);
    s.dil_h = at(10);
    s.dil_w = at(11);
    s.groups = at(12);
    return s;
}

// The implementations to try on a shape.
std::vector<ConvImpl> impls_for(const Conv2dShape&) {
    return {ConvImpl::kAuto, ConvImpl::kOneDnn, ConvImpl::kReference};
}

const char* impl_name(ConvImpl i) {
    switch (i) {
        case ConvImpl::kAuto:
            return "auto";
        case ConvImpl::kOneDnn:
            return "onednn";
        case ConvImpl::kReference:
            return "reference";
    }
    return "?";
}

std::vector<float> random_vector(size_t n, float lo, float hi, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> U(lo, hi);
    std::vector<float> x(n);
    for (auto& e : x) e = U(rng);
    return x;
}

Tensor random_tensor(Shape shape, float lo, float hi, unsigned seed) {
    Tensor t(std::move(shape));
    const auto v = random_vector(static_cast<size_t>(t.numel()), lo, hi, seed);
    std::copy(v.begin(), v.end(), t.data());
    return t;
}

void check_fixture(const std::string& f, bool fold_bn) {
    auto s = weights::WeightStore::open(f);
    const Tensor x = s.get("x"), expected = s.get("y");
    Tensor weight = s.get("weight");
    Tensor bias = s.contains("bias") ? s.get("bias") : Tensor();
    const Conv2dShape shape = shape_from(s.get("geom"));
    if (fold_bn)
        ops::fold_batch_norm(weight, bias, s.get("bn_weight"), s.get("bn_bias"), s.get("bn_mean"),
                             s.get("bn_var"), s.get("bn_eps")[0]);
    Conv2dPost post;
    post.act = static_cast<Activation>(static_cast<int>(s.get("act")[0]));
    const Tensor residual = s.contains("residual") ? s.get("residual") : Tensor();
    if (!residual.empty()) post.residual = residual.data();
    const int64_t B = x.dim(0), H = x.dim(1), W = x.dim(2);
    ASSERT_EQ(expected.dim(1), shape.out_h(H)) << f;
    ASSERT_EQ(expected.dim(2), shape.out_w(W)) << f;

    Tensor out(expected.shape());
    ops::ref::conv2d(x.data(), weight.data(), bias.empty() ? nullptr : bias.data(), shape, B, H, W,
                     out.data(), post);
    expect_close(f + " [ref::conv2d]", out.data(), expected, kOpAbs);

    for (ConvImpl impl : impls_for(shape)) {
        Conv2d conv;
        conv.set_weights(weight, bias.empty() ? nullptr : &bias, shape);
        conv.set_impl(impl);
        Tensor y(expected.shape(), -7.0f);
        conv.forward(x.data(), B, H, W, y.data(), post);
        expect_close(f + " [" + impl_name(impl) + "]", y.data(), expected, kOpAbs);
        if (!residual.empty()) {  // the residual already in the output buffer (accumulate)
            Tensor acc = residual.clone();
            Conv2dPost in_place = post;
            in_place.residual = acc.data();
            conv.forward(x.data(), B, H, W, acc.data(), in_place);
            expect_close(f + " [" + impl_name(impl) + ", residual in y]", acc.data(), expected, kOpAbs);
        }
    }
}

TEST(Conv2dFixtures, MatchPyTorch) {
    const auto files = dense_fixtures("conv_");
    ASSERT_GE(files.size(), 12u);
    for (const auto& f : files)
        if (fs::path(f).filename().string().rfind("conv_bn_", 0) != 0) check_fixture(f, false);
}

TEST(Conv2dFixtures, BatchNormFoldedMatchesPyTorch) {
    const auto files = dense_fixtures("conv_bn_");
    ASSERT_GE(files.size(), 2u);
    for (const auto& f : files) check_fixture(f, true);
}

// Random shapes large enough to be cut into several row blocks, awkward channel counts, strides, dilation,
// every activation, with and without residual.
struct Case {
    int64_t B, H, W, cin, cout, k, stride, pad, dil, groups;
    Activation act;
    bool residual;
};

const Case kCases[] = {
    {1, 64, 40, 32, 32, 3, 1, 1, 1, 1, Activation::kNone, false},
    {2, 37, 29, 19, 24, 3, 2, 1, 1, 1, Activation::kRelu, true},
    {1, 50, 61, 48, 48, 5, 1, 2, 1, 48, Activation::kSilu, true},
    {1, 45, 38, 21, 21, 9, 1, 4, 1, 21, Activation::kGelu, false},
    {2, 33, 35, 40, 40, 5, 2, 2, 1, 40, Activation::kRelu6, true},
    {1, 30, 31, 12, 12, 3, 1, 2, 2, 12, Activation::kHardSwish, false},
    {1, 40, 44, 96, 48, 1, 1, 0, 1, 1, Activation::kSigmoid, true},
    {1, 26, 27, 16, 24, 3, 1, 1, 1, 4, Activation::kNone, false},
    {1, 3, 4, 9, 9, 5, 1, 2, 1, 9, Activation::kNone, true},    // image smaller than the kernel
    {1, 70, 9, 8, 8, 7, 1, 0, 1, 8, Activation::kRelu, false},  // no padding: "valid"
    // Several row blocks per image for depthwise, strided and dilated convs (halo and edge padding
    // of each block's input slab).
    {2, 90, 64, 48, 48, 5, 1, 2, 1, 48, Activation::kSilu, true},
    {1, 120, 50, 32, 32, 3, 2, 1, 1, 1, Activation::kRelu, true},
    {1, 100, 30, 16, 16, 3, 1, 2, 2, 1, Activation::kNone, false},
    // Strides that leave input columns unread at the right / bottom (PyTorch's floor), even kernels.
    {1, 10, 10, 8, 8, 3, 2, 0, 1, 1, Activation::kNone, false},
    {1, 17, 13, 8, 8, 5, 3, 1, 1, 1, Activation::kNone, false},
    {1, 9, 9, 8, 8, 4, 2, 1, 1, 1, Activation::kNone, false},
    {2, 9, 11, 8, 8, 2, 2, 0, 1, 1, Activation::kNone, false},
};

TEST(Conv2d, EveryImplementationMatchesReference) {
    for (const Case& c : kCases) {
        const Conv2dShape s = Conv2dShape::square(c.cin, c.cout, c.k, c.stride, c.pad, c.groups, c.dil);
        const std::string what = "conv " + std::to_string(c.cin) + "->" + std::to_string(c.cout) + " k" +
                                 std::to_string(c.k) + " s" + std::to_string(c.stride) + " g" +
                                 std::to_string(c.groups) + " " + ops::activation_name(c.act) + " on " +
                                 std::to_string(c.H) + "x" + std::to_string(c.W);
        const Tensor x = random_tensor({c.B, c.H, c.W, c.cin}, -1.0f, 1.0f, 1);
        const float wscale = 1.0f / std::sqrt(static_cast<float>(c.cin / c.groups * c.k * c.k));
        const Tensor w = random_tensor({c.cout, c.cin / c.groups, c.k, c.k}, -wscale, wscale, 2);
        const Tensor b = random_tensor({c.cout}, -0.5f, 0.5f, 3);
        const Shape yshape{c.B, s.out_h(c.H), s.out_w(c.W), c.cout};
        const Tensor r = random_tensor(yshape, -1.0f, 1.0f, 4);
        Conv2dPost post;
        post.act = c.act;
        if (c.residual) post.residual = r.data();
        Tensor expected(yshape);
        ops::ref::conv2d(x.data(), w.data(), b.data(), s, c.B, c.H, c.W, expected.data(), post);
        for (ConvImpl impl : impls_for(s)) {
            Conv2d conv;
            conv.set_weights(w, &b, s);
            conv.set_impl(impl);
            Tensor y(yshape), y_serial(yshape);
            conv.forward(x.data(), c.B, c.H, c.W, y.data(), post);
            expect_close(what + " [" + impl_name(impl) + "]", y.data(), expected, kOpAbs);
            // Blocks are fixed by the shape: serial and pooled runs give the same bits.
            conv.forward(x.data(), c.B, c.H, c.W, y_serial.data(), post, /*serial=*/true);
            EXPECT_EQ(0,
                      std::memcmp(y.data(), y_serial.data(), static_cast<size_t>(y.numel()) * sizeof(float)))
                << what << " [" << impl_name(impl) << "]: serial and parallel runs differ";
        }
    }
}

TEST(Conv2d, ResidualMayBeTheInput) {
    // RWKV-UNet's GLSP skip: y = x + SiLU(dwconv(x)), the residual read from the conv's own input.
    const Conv2dShape s = Conv2dShape::depthwise(24, 5);
    const Tensor x = random_tensor({2, 30, 33, 24}, -1.0f, 1.0f, 30);
    const Tensor w = random_tensor({24, 1, 5, 5}, -0.2f, 0.2f, 31);
    const Tensor b = random_tensor({24}, -0.5f, 0.5f, 32);
    const Conv2dPost post{Activation::kSilu, x.data()};
    Tensor expected(x.shape());
    ops::ref::conv2d(x.data(), w.data(), b.data(), s, 2, 30, 33, expected.data(), post);
    for (ConvImpl impl : impls_for(s)) {
        Conv2d conv;
        conv.set_weights(w, &b, s);
        conv.set_impl(impl);
        Tensor y(x.shape());
        conv.forward(x.data(), 2, 30, 33, y.data(), post);
        expect_close(std::string("residual = x [") + impl_name(impl) + "]", y.data(), expected, kOpAbs);
    }
}

TEST(Conv2d, BlocksCoverLargeMapsInSeveralCalls) {
    Conv2d conv;
    const Conv2dShape s = Conv2dShape::square(48, 48, 3);
    conv.set_weights(Tensor({48, 48, 3, 3}), nullptr, s);
    EXPECT_GT(conv.blocks(256, 256), 8);  // a 256² map is spread over the threads
    EXPECT_EQ(conv.blocks(4, 4), 1);
    EXPECT_EQ(conv.out_h(256), 256);
    EXPECT_EQ(Conv2dShape::square(8, 8, 3, 2).out_h(11), 6);  // floor((11 + 2 − 3) / 2) + 1
}

TEST(Conv2d, ConcurrentCallersGetTheirOwnResults) {
    // One shared Conv2d, several threads, different inputs and sizes (primitives built concurrently).
    const Conv2dShape s = Conv2dShape::square(16, 24, 3);
    const Tensor w = random_tensor({24, 16, 3, 3}, -0.3f, 0.3f, 5);
    const Tensor b = random_tensor({24}, -0.5f, 0.5f, 6);
    for (ConvImpl impl : {ConvImpl::kOneDnn, ConvImpl::kReference}) {
        Conv2d conv;
        conv.set_weights(w, &b, s);
        conv.set_impl(impl);
        constexpr int kThreads = 4;
        std::vector<Tensor> xs, ys, expected;
        for (int t = 0; t < kThreads; ++t) {
            const int64_t H = 20 + 3 * t, W = 17 + t;
            xs.push_back(random_tensor({1, H, W, 16}, -1.0f, 1.0f, 10u + static_cast<unsigned>(t)));
            ys.emplace_back(Shape{1, H, W, 24});
            expected.emplace_back(Shape{1, H, W, 24});
            ops::ref::conv2d(xs.back().data(), w.data(), b.data(), s, 1, H, W, expected.back().data(),
                             Conv2dPost{Activation::kGelu, nullptr});
        }
        std::vector<std::thread> pool;
        for (int t = 0; t < kThreads; ++t)
            pool.emplace_back([&, t] {
                const auto i = static_cast<size_t>(t);
                for (int rep = 0; rep < 3; ++rep)
                    conv.forward(xs[i].data(), 1, xs[i].dim(1), xs[i].dim(2), ys[i].data(),
                                 Conv2dPost{Activation::kGelu, nullptr}, /*serial=*/true);
            });
        for (auto& th : pool) th.join();
        for (size_t i = 0; i < xs.size(); ++i)
            expect_close(std::string("concurrent ") + impl_name(impl), ys[i].data(), expected[i], kOpAbs);
    }
}

TEST(Conv2d, AffineBeforeConvFoldsIntoIt) {
    // A stand-alone BatchNorm (RWKV-UNet's `norm` in front of a 1x1 conv) folded into the conv.
    const Conv2dShape s = Conv2dShape::square(10, 6, 1, 1, 0);
    Tensor w = random_tensor({6, 10, 1, 1}, -0.5f, 0.5f, 20);
    Tensor b = random_tensor({6}, -0.5f, 0.5f, 21);
    const Tensor gamma = random_tensor({10}, 0.5f, 1.5f, 22), beta = random_tensor({10}, -0.5f, 0.5f, 23),
                 mean = random_tensor({10}, -0.5f, 0.5f, 24), var = random_tensor({10}, 0.1f, 1.1f, 25);
    Tensor scale, shift;
    ops::batch_norm_scale_shift(gamma, beta, mean, var, 1e-6f, scale, shift);
    const Tensor x = random_tensor({1, 5, 7, 10}, -1.0f, 1.0f, 26);
    Tensor normed({1, 5, 7, 10}), expected({1, 5, 7, 6});
    ops::channel_affine(x.data(), scale.data(), shift.data(), 35, 10, normed.data());
    ops::ref::conv2d(normed.data(), w.data(), b.data(), s, 1, 5, 7, expected.data());
    ops::fold_affine_before_conv(w, b, s, scale, shift);
    Conv2d conv;
    conv.set_weights(w, &b, s);
    Tensor y({1, 5, 7, 6});
    conv.forward(x.data(), 1, 5, 7, y.data());
    expect_close("affine folded into 1x1 conv", y.data(), expected, kOpAbs);

    Tensor w3({6, 10, 3, 3}), b3;
    EXPECT_THROW(ops::fold_affine_before_conv(w3, b3, Conv2dShape::square(10, 6, 3), scale, shift), Error);
}

TEST(Conv2d, BadInputIsAClearError) {
    Conv2d conv;
    const Conv2dShape s = Conv2dShape::square(8, 4, 3);
    try {
        conv.set_weights(Tensor({4, 8, 5, 5}), nullptr, s);
        FAIL() << "a 5x5 weight for a 3x3 conv was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
        EXPECT_NE(std::string(e.what()).find("[4, 8, 5, 5]"), std::string::npos) << e.what();
    }
    Conv2dShape grouped = s;
    grouped.groups = 3;
    EXPECT_THROW(conv.set_weights(Tensor({4, 8, 3, 3}), nullptr, grouped), Error);  // 3 divides neither
    const Conv2dShape valid = Conv2dShape::square(8, 4, 5, 1, 0);
    conv.set_weights(Tensor({4, 8, 5, 5}), nullptr, valid);
    std::vector<float> x(3 * 3 * 8), y(16);
    try {
        conv.forward(x.data(), 1, 3, 3, y.data());
        FAIL() << "a 3x3 input to an unpadded 5x5 conv was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
    Tensor bn_w({4, 8, 3, 3}), bn_b;
    EXPECT_THROW(ops::fold_batch_norm(bn_w, bn_b, Tensor(), Tensor(), Tensor({3}), Tensor({3}), 1e-5f),
                 Error);
}

TEST(Activation, NamesRoundTripAndUnknownNamesFail) {
    for (Activation a : {Activation::kNone, Activation::kRelu, Activation::kRelu6, Activation::kGelu,
                         Activation::kSigmoid, Activation::kSilu, Activation::kHardSwish})
        EXPECT_EQ(ops::parse_activation(ops::activation_name(a)), a);
    EXPECT_EQ(ops::parse_activation("swish"), Activation::kSilu);
    EXPECT_THROW(ops::parse_activation("mish"), Error);
    EXPECT_FLOAT_EQ(ops::activate(Activation::kHardSwish, 1.0f), 1.0f * 4.0f / 6.0f);
    EXPECT_FLOAT_EQ(ops::activate(Activation::kRelu6, 7.5f), 6.0f);
}

}  // namespace
}  // namespace rv::test
