// Reference ops against the PyTorch fixtures in tests/fixtures/ops (tools/make_model_fixtures.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "tests/support/parity.h"
#include "tests/support/tolerances.h"
#include "vision/ops/linear.h"
#include "vision/ops/ref/bi_wkv_ref.h"
#include "vision/ops/ref/linear_ref.h"
#include "vision/ops/ref/patch_ref.h"
#include "vision/ops/ref/resize_ref.h"
#include "vision/ops/ref/shift_ref.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> fixtures_with_prefix(const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(fixture_path("ops")))
        if (e.path().filename().string().starts_with(prefix) && e.path().extension() == ".pth")
            out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(OpFixtures, BiWkvMatchesPyTorchReference) {
    const auto files = fixtures_with_prefix("bi_wkv_");
    ASSERT_GE(files.size(), 6u);
    for (const auto& f : files) {
        auto s = weights::WeightStore::open(f);
        const Tensor k = s.get("k"), v = s.get("v"), decay = s.get("spatial_decay"),
                     first = s.get("spatial_first");
        const Tensor y = s.get("y");
        ops::BiWkvParams p;
        p.token_split = static_cast<int>(s.get("token_split")[0]);
        p.eps = s.get("eps")[0];
        const int64_t B = k.dim(0), T = k.dim(1), C = k.dim(2);
        Tensor out(k.shape());
        ops::ref::bi_wkv(decay.data(), first.data(), k.data(), v.data(), out.data(), B, T, C, p);
        expect_close(f, out.data(), y, kWkvAbs);
    }
}

TEST(OpFixtures, QShift) {
    const auto files = fixtures_with_prefix("q_shift_");
    ASSERT_GE(files.size(), 2u);
    for (const auto& f : files) {
        auto s = weights::WeightStore::open(f);
        const Tensor x = s.get("x"), hw = s.get("hw"), y = s.get("y");
        Tensor out(x.shape());
        ops::ref::q_shift(x.data(), out.data(), x.dim(0), static_cast<int64_t>(hw[0]),
                          static_cast<int64_t>(hw[1]), x.dim(2));
        expect_close(f, out.data(), y, 0.0);  // pure data movement: exact
    }
}

TEST(OpFixtures, LayerNorm) {
    auto s = weights::WeightStore::open(fixture_path("ops/layer_norm.pth"));
    const Tensor x = s.get("x"), w = s.get("weight"), b = s.get("bias"), y = s.get("y");
    Tensor out(x.shape());
    const int64_t C = x.dim(-1);
    ops::ref::layer_norm(x.data(), w.data(), b.data(), out.data(), x.numel() / C, C, s.get("eps")[0]);
    expect_close("layer_norm", out.data(), y, kOpAbs);
}

TEST(OpFixtures, PosEmbedBicubicResize) {
    const auto files = fixtures_with_prefix("pos_embed_resize_");
    ASSERT_GE(files.size(), 3u);
    for (const auto& f : files) {
        auto s = weights::WeightStore::open(f);
        const Tensor pos = s.get("pos"), src = s.get("src_hw"), dst = s.get("dst_hw"),
                     expected = s.get("out");
        const auto sh = static_cast<int64_t>(src[0]), sw = static_cast<int64_t>(src[1]);
        const auto dh = static_cast<int64_t>(dst[0]), dw = static_cast<int64_t>(dst[1]);
        Tensor out({1, dh * dw, pos.dim(2)});
        ops::ref::bicubic_resize(pos.data(), out.data(), sh, sw, dh, dw, pos.dim(2));
        expect_close(f, out.data(), expected, kOpAbs);
    }
}

TEST(OpFixtures, PatchEmbedWithCornerPadding) {
    const auto files = fixtures_with_prefix("patch_embed_");
    ASSERT_GE(files.size(), 2u);
    for (const auto& f : files) {
        auto s = weights::WeightStore::open(f);
        const Tensor x = s.get("x"), w = s.get("weight"), b = s.get("bias"), y = s.get("y");
        const auto p = static_cast<int64_t>(s.get("patch_size")[0]);
        const int64_t B = x.dim(0), Cin = x.dim(1), H = x.dim(2), W = x.dim(3), C = w.dim(0);
        const int64_t T = ops::ref::patch_grid(H, p) * ops::ref::patch_grid(W, p), K = Cin * p * p;
        ASSERT_EQ(T, y.dim(1)) << f;
        Tensor cols({T, K}), out({B, T, C}), fast({B, T, C});
        ops::Linear proj;
        Tensor w2 = w.clone();
        w2.reshape({C, K});
        proj.set_weights(w2, &b);
        for (int64_t i = 0; i < B; ++i) {
            ops::ref::im2col_patches(x.data() + i * Cin * H * W, cols.data(), Cin, H, W, p);
            ops::ref::linear(cols.data(), w2.data(), b.data(), out.data() + i * T * C, T, K, C);
            proj.forward(cols.data(), T, fast.data() + i * T * C);
        }
        expect_close(f + " (ref)", out.data(), y, kOpAbs);
        expect_close(f + " (oneDNN)", fast.data(), y, kOpAbs);
    }
}

}  // namespace
}  // namespace rv::test
