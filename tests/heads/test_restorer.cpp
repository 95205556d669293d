// heads/restorer: whole-image parity with the PyTorch reference through the padding path (37×70,
// not a multiple of 8), super-resolution (bicubic input, ×2), an official-style .pth with the
// config inferred, tiled vs whole, memory planning, channel adaptation and alpha.
#include <gtest/gtest.h>

#include <cmath>

#include "heads/restorer.h"
#include "tests/support/parity.h"
#include "vision/core/error.h"
#include "vision/weights/weight_store.h"

namespace rv::test {
namespace {
using heads::Restorer;
using heads::TileOptions;

constexpr double kRestoreAbs = 1e-4;

void check_case(const std::string& name, const std::string& file) {
    SCOPED_TRACE(name);
    const Restorer r = Restorer::load(fixture_path("restore/" + file));
    const auto io = weights::WeightStore::open(fixture_path("restore/" + name + ".io.safetensors"));
    const Tensor x = io.get("input");
    const Tensor expected = io.get("output");
    const auto& s = x.shape();
    TileOptions whole;
    whole.tile = 0;
    heads::TileReport rep;
    const Tensor y = r.run(x.data(), s[0], s[1], s[2], whole, &rep);
    EXPECT_EQ(rep.tile, 0);
    ASSERT_EQ(y.numel(), expected.numel());
    expect_close(name, y.data(), expected, kRestoreAbs);
}

TEST(Restorer, PaddedSizeMatchesPyTorch) { check_case("rgb_odd", "rgb_odd.safetensors"); }
TEST(Restorer, SuperResolutionMatchesPyTorch) { check_case("sr2", "sr2.safetensors"); }
TEST(Restorer, OfficialPthWithInferredConfig) { check_case("gray_pth", "gray_pth.pth"); }

double mean_abs_diff(const Tensor& a, const Tensor& b) {
    double s = 0;
    for (int64_t i = 0; i < a.numel(); ++i)
        s += std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    return s / static_cast<double>(a.numel());
}

TEST(Restorer, TiledApproachesWholeWithOverlap) {
    const Restorer r = Restorer::load(fixture_path("restore/rgb64.safetensors"));
    const auto io = weights::WeightStore::open(fixture_path("restore/rgb64.io.safetensors"));
    const Tensor x = io.get("input");
    TileOptions opt;
    opt.tile = 0;
    const Tensor whole = r.run(x.data(), 1, 64, 64, opt);
    opt.tile = 64;  // one tile covering the image is the whole-image path
    EXPECT_EQ(mean_abs_diff(r.run(x.data(), 1, 64, 64, opt), whole), 0.0);
    heads::TileReport rep;
    opt.tile = 32;
    opt.tile_pad = 0;
    const double no_overlap = mean_abs_diff(r.run(x.data(), 1, 64, 64, opt, &rep), whole);
    EXPECT_EQ(rep.tiles, 4);
    opt.tile_pad = 16;
    const double overlap = mean_abs_diff(r.run(x.data(), 1, 64, 64, opt, &rep), whole);
    EXPECT_EQ(rep.tiles, 4);
    RecordProperty("mean_abs_no_overlap", std::to_string(no_overlap));
    RecordProperty("mean_abs_overlap16", std::to_string(overlap));
    std::printf("tiled vs whole mean |diff|: no overlap %.5f, overlap 16: %.5f\n", no_overlap, overlap);
    EXPECT_LT(overlap, no_overlap);
    EXPECT_GT(no_overlap, 0.0);
}

TEST(Restorer, AutoTilingFollowsTheMemoryLimit) {
    const Restorer r = Restorer::load(fixture_path("restore/rgb64.safetensors"));
    TileOptions opt;  // auto
    EXPECT_EQ(r.plan_tile(1, 64, 64, opt), 0);
    const int64_t whole = r.estimate_bytes(1, 2048, 2048);
    EXPECT_GT(whole, r.estimate_bytes(1, 1024, 1024) * 3);  // ~linear in pixels
    opt.max_memory = whole - 1;
    const int64_t t = r.plan_tile(1, 2048, 2048, opt);
    EXPECT_GT(t, 0);
    EXPECT_LT(t, 2048);
    EXPECT_EQ(t % 8, 0);
    opt.max_memory = 1 << 20;  // nothing fits
    EXPECT_THROW(r.plan_tile(1, 2048, 2048, opt), Error);
}

TEST(Restorer, ChannelsAndAlpha) {
    const Restorer r = Restorer::load(fixture_path("restore/rgb_odd.safetensors"));
    image::ImageF gray;
    gray.height = 9;
    gray.width = 11;
    gray.channels = 1;
    gray.bit_depth = 16;
    for (int i = 0; i < 99; ++i) gray.pixels.push_back(static_cast<float>(i % 7) / 7.0f);
    gray.alpha.assign(99, 0.5f);
    TileOptions opt;
    const auto out = r.restore(gray, opt);
    EXPECT_EQ(out.channels, 1);
    EXPECT_EQ(out.bit_depth, 16);
    EXPECT_EQ(out.pixels.size(), 99u);
    EXPECT_EQ(out.alpha, gray.alpha);
    const Restorer g = Restorer::load(fixture_path("restore/gray_pth.pth"));
    image::ImageF rgb;
    rgb.height = 5;
    rgb.width = 6;
    rgb.channels = 3;
    rgb.pixels.assign(90, 0.25f);
    const auto o2 = g.restore(rgb, opt);
    EXPECT_EQ(o2.channels, 3);
    EXPECT_EQ(o2.pixels.size(), 90u);
    for (float v : o2.pixels) EXPECT_TRUE(std::isfinite(v));
    EXPECT_THROW(Restorer::load(fixture_path("restore/sr2.safetensors"), 3), Error);  // wrong scale
}

}  // namespace
}  // namespace rv::test
