// vision/ops/dense_ops.h against PyTorch fixtures (tests/fixtures/ops_dense,
// tools/make_conv_fixtures.py): pixel (un)shuffle, bilinear / nearest resize, reflect pad, SE pieces;
// and the round trips and errors that need no fixture.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/parity.h"
#include "tests/support/tolerances.h"
#include "vision/core/error.h"
#include "vision/ops/dense_ops.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> dense_fixtures(const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(fixture_path("ops_dense")))
        if (e.path().filename().string().starts_with(prefix) && e.path().extension() == ".pth")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(DenseOpsFixtures, PixelShuffleAndUnshuffle) {
    const auto shuffle = dense_fixtures("pixel_shuffle_"), unshuffle = dense_fixtures("pixel_unshuffle_");
    ASSERT_GE(shuffle.size(), 2u);
    ASSERT_GE(unshuffle.size(), 2u);
    for (const auto& f : shuffle) {
        auto s = weights::WeightStore::open(f);
        const Tensor x = s.get("x"), y = s.get("y");
        Tensor out(y.shape());
        ops::pixel_shuffle(x.data(), x.dim(0), x.dim(1), x.dim(2), x.dim(3),
                           static_cast<int64_t>(s.get("r")[0]), out.data());
        expect_close(f, out.data(), y, 0.0);  // data movement: exact
    }
    for (const auto& f : unshuffle) {
        auto s = weights::WeightStore::open(f);
        const Tensor x = s.get("x"), y = s.get("y");
        Tensor out(y.shape());
        ops::pixel_unshuffle(x.data(), x.dim(0), x.dim(1), x.dim(2), x.dim(3),
                             static_cast<int64_t>(s.get("r")[0]), out.data());
        expect_close(f, out.data(), y, 0.0);
    }
}

TEST(DenseOpsFixtures, BilinearAndNearestResize) {
    const auto bilinear = dense_fixtures("bilinear_"), nearest = dense_fixtures("nearest_");
    ASSERT_GE(bilinear.size(), 6u);
    ASSERT_GE(nearest.size(), 4u);
    for (const auto& f : bilinear) {
        auto s = weights::WeightStore::open(f);
        const Tensor x = s.get("x"), y = s.get("y"), hw = s.get("out_hw"), scale = s.get("scale");
        Tensor out(y.shape());
        ops::bilinear_resize(x.data(), x.dim(0), x.dim(1), x.dim(2), x.dim(3), static_cast<int64_t>(hw[0]),
                             static_cast<int64_t>(hw[1]), s.get("align_corners")[0] != 0.0f, out.data(),
                             scale[0], scale[1]);
        expect_close(f, out.data(), y, kOpAbs);
    }
    for (const auto& f : nearest) {
        auto s = weights::WeightStore::open(f);
        const Tensor x = s.get("x"), y = s.get("y"), hw = s.get("out_hw"), scale = s.get("scale");
        Tensor out(y.shape());
        ops::nearest_resize(x.data(), x.dim(0), x.dim(1), x.dim(2), x.dim(3), static_cast<int64_t>(hw[0]),
                            static_cast<int64_t>(hw[1]), out.data(), scale[0], scale[1]);
        expect_close(f, out.data(), y, 0.0);
    }
}

TEST(DenseOpsFixtures, ReflectPadAndCropBack) {
    auto s = weights::WeightStore::open(fixture_path("ops_dense/pad_reflect.pth"));
    const Tensor x = s.get("x"), y = s.get("y"), p = s.get("pads");
    const auto t = static_cast<int64_t>(p[0]), b = static_cast<int64_t>(p[1]), l = static_cast<int64_t>(p[2]),
               r = static_cast<int64_t>(p[3]);
    Tensor out(y.shape());
    ops::pad_reflect(x.data(), x.dim(0), x.dim(1), x.dim(2), x.dim(3), t, b, l, r, out.data());
    expect_close("pad_reflect", out.data(), y, 0.0);
    Tensor back(x.shape());
    ops::crop(out.data(), y.dim(0), y.dim(1), y.dim(2), y.dim(3), t, l, x.dim(1), x.dim(2), back.data());
    expect_close("crop(pad_reflect(x))", back.data(), x, 0.0);
}

TEST(DenseOpsFixtures, SqueezeExcitePieces) {
    auto s = weights::WeightStore::open(fixture_path("ops_dense/se.pth"));
    const Tensor x = s.get("x"), gate = s.get("gate");
    const int64_t B = x.dim(0), HW = x.dim(1) * x.dim(2), C = x.dim(3);
    Tensor pooled({B, C}), y(x.shape());
    ops::global_avg_pool(x.data(), B, HW, C, pooled.data());
    expect_close("global_avg_pool", pooled.data(), s.get("pooled"), kOpAbs);
    ops::scale_channels(x.data(), gate.data(), B, HW, C, y.data());
    expect_close("scale_channels", y.data(), s.get("y"), 0.0);
}

TEST(DenseOps, ShuffleRoundTripAndChannelCopies) {
    std::vector<float> x(2 * 4 * 6 * 3);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    std::vector<float> down(x.size()), up(x.size());
    ops::pixel_unshuffle(x.data(), 2, 4, 6, 3, 2, down.data());
    ops::pixel_shuffle(down.data(), 2, 2, 3, 12, 2, up.data());
    EXPECT_EQ(up, x);

    const std::vector<float> a = {1, 2, 3, 4}, b = {5, 6};  // 2 rows: a [2, 2], b [2, 1]
    std::vector<float> cat(6);
    ops::concat_channels(a.data(), 2, b.data(), 1, 2, cat.data());
    EXPECT_EQ(cat, (std::vector<float>{1, 2, 5, 3, 4, 6}));
    std::vector<float> part(2);
    ops::copy_channels(cat.data(), 3, 2, part.data(), 1, 0, 1, 2);  // torch.split: the last channel
    EXPECT_EQ(part, b);

    std::vector<float> v = {-1.0f, 2.0f}, w = {3.0f, 4.0f}, out(2);
    ops::add(v.data(), w.data(), 2, out.data());
    EXPECT_EQ(out, (std::vector<float>{2.0f, 6.0f}));
    ops::mul(v.data(), w.data(), 2, out.data());
    EXPECT_EQ(out, (std::vector<float>{-3.0f, 8.0f}));
    ops::channel_affine(v.data(), w.data(), nullptr, 1, 2, out.data(), ops::Activation::kRelu);
    EXPECT_EQ(out, (std::vector<float>{0.0f, 8.0f}));
}

TEST(DenseOps, BadSizesAreClearErrors) {
    std::vector<float> x(64), y(256);
    auto code_of = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return e.code();
        }
        return ErrorCode::kInternal;  // no error: the EXPECTs below fail
    };
    EXPECT_EQ(code_of([&] { ops::pixel_unshuffle(x.data(), 1, 3, 4, 1, 2, y.data()); }),
              ErrorCode::kShapeMismatch);
    EXPECT_EQ(code_of([&] { ops::pixel_shuffle(x.data(), 1, 2, 2, 3, 2, y.data()); }),
              ErrorCode::kShapeMismatch);
    EXPECT_EQ(code_of([&] { ops::pad_reflect(x.data(), 1, 4, 4, 1, 4, 0, 0, 0, y.data()); }),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(code_of([&] { ops::crop(x.data(), 1, 4, 4, 1, 2, 0, 3, 4, y.data()); }),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(code_of([&] { ops::bilinear_resize(x.data(), 1, 4, 4, 1, 0, 4, false, y.data()); }),
              ErrorCode::kInvalidArgument);
    // A x2 upsample with the factor given upside down (0.5): PyTorch would make 2 rows from 4.
    EXPECT_EQ(code_of([&] { ops::bilinear_resize(x.data(), 1, 4, 4, 1, 8, 8, false, y.data(), 0.5, 0.5); }),
              ErrorCode::kInvalidArgument);
    EXPECT_EQ(code_of([&] { ops::nearest_resize(x.data(), 1, 4, 4, 1, 8, 8, y.data(), 2.0, 3.0); }),
              ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace rv::test
