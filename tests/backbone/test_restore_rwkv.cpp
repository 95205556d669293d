// Restore-RWKV (backbone/restore_rwkv*) against the PyTorch reference: whole-network output and
// per-block intermediates at 64×64 on a reduced-width random-weight model
// (tests/fixtures/restore, written by tools/make_restore_fixtures.py); Omni-Shift folding; config
// inference and JSON; strict loading.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "backbone/restore_rwkv.h"
#include "tests/support/parity.h"
#include "tests/support/tolerances.h"
#include "vision/core/error.h"
#include "vision/weights/weight_store.h"

namespace rv::test {
namespace {
using backbone::RestoreRwkv;
using backbone::RestoreRwkvConfig;

constexpr double kRestoreAbs = 1e-4;  // the issue's bound on outputs (values of a few units)

RestoreRwkv load_fixture_model(const std::string& name, RestoreRwkvConfig* cfg_out = nullptr) {
    auto store = weights::WeightStore::open(fixture_path("restore/" + name + ".safetensors"));
    const auto cfg = backbone::restore_config_from_json(store.metadata().at("config"), name);
    if (cfg_out) *cfg_out = cfg;
    return RestoreRwkv::load(store, cfg);
}

TEST(RestoreRwkv, OutputAndIntermediatesMatchPyTorch64) {
    const RestoreRwkv model = load_fixture_model("rgb64");
    const auto io = weights::WeightStore::open(fixture_path("restore/rgb64.io.safetensors"));
    const Tensor x = io.get("input");
    const Tensor expected = io.get("output");
    ASSERT_EQ(x.shape(), (Shape{1, 64, 64, 3}));
    std::map<std::string, double> worst;
    int compared = 0;
    auto trace = [&](const std::string& name, const float* data, const Shape& shape) {
        if (!io.contains(name)) return;
        const Tensor ref = io.get(name);
        ASSERT_EQ(shape_numel(shape), ref.numel()) << name;
        const auto d = compare(data, ref.data(), ref.numel());
        worst[name] = d.max_abs;
        ++compared;
    };
    Tensor y(x.shape());
    model.forward(x.data(), 1, 64, 64, y.data(), false, trace);
    expect_close("output", y.data(), expected, kRestoreAbs);
    EXPECT_GE(compared, 15);
    for (const auto& [name, err] : worst) EXPECT_LE(err, kRestoreAbs) << name;
    // serial and pooled runs agree bit for bit
    Tensor ys(x.shape());
    model.forward(x.data(), 1, 64, 64, ys.data(), true);
    EXPECT_EQ(compare(ys.data(), y.data(), y.numel()).max_abs, 0.0);
}

TEST(RestoreRwkv, ReparamTensorIsNeverTrusted) {
    // The fixture's conv5x5_reparam tensors are noise; the rebuilt kernel equals the branches.
    auto store = weights::WeightStore::open(fixture_path("restore/rgb64.safetensors"));
    const Tensor noise = store.get("encoder_level1.0.att.omni_shift.conv5x5_reparam.weight");
    const Tensor a = store.get("encoder_level1.0.att.omni_shift.alpha");
    const Tensor w1 = store.get("encoder_level1.0.att.omni_shift.conv1x1.weight");
    const Tensor w3 = store.get("encoder_level1.0.att.omni_shift.conv3x3.weight");
    const Tensor w5 = store.get("encoder_level1.0.att.omni_shift.conv5x5.weight");
    backbone::OmniShift shift;
    shift.load(backbone::ParamReader(store, "encoder_level1.0.att.omni_shift."), 8);
    const Tensor& k = shift.kernel();
    double far_from_noise = 0;
    for (int64_t c = 0; c < 8; ++c) {
        const float centre = a[0] + a[1] * w1[c] + a[2] * w3[c * 9 + 4] + a[3] * w5[c * 25 + 12];
        EXPECT_NEAR(k[c * 25 + 12], centre, 1e-6);
        EXPECT_NEAR(k[c * 25 + 0], a[3] * w5[c * 25 + 0], 1e-6);  // corner: the 5×5 branch only
        EXPECT_NEAR(k[c * 25 + 6], a[2] * w3[c * 9 + 0] + a[3] * w5[c * 25 + 6], 1e-6);
        far_from_noise =
            std::max(far_from_noise, static_cast<double>(std::fabs(k[c * 25 + 12] - noise[c * 25 + 12])));
    }
    EXPECT_GT(far_from_noise, 1e-3);
}

TEST(RestoreRwkv, ConfigInferredFromOfficialCheckpoint) {
    auto store = weights::WeightStore::open(fixture_path("restore/gray_pth.pth"));
    const auto cfg = backbone::infer_restore_config(store);
    EXPECT_EQ(cfg.inp_channels, 1);
    EXPECT_EQ(cfg.dim, 4);
    EXPECT_EQ(cfg.num_blocks, (std::array<int, 4>{1, 2, 1, 1}));
    EXPECT_EQ(cfg.num_refinement_blocks, 2);
    EXPECT_DOUBLE_EQ(cfg.hidden_rate, 4.0);
    EXPECT_FALSE(cfg.key_norm);
    EXPECT_EQ(cfg.token_split, 64);
    const auto io = weights::WeightStore::open(fixture_path("restore/gray_pth.io.safetensors"));
    const auto meta_cfg = backbone::restore_config_from_json(io.metadata().at("config"), "io");
    EXPECT_EQ(backbone::restore_config_to_json(cfg), backbone::restore_config_to_json(meta_cfg));
    const RestoreRwkv model = RestoreRwkv::load(store, cfg);
    const Tensor x = io.get("input");  // [2, 24, 40, 1]
    Tensor y(x.shape());
    model.forward(x.data(), 2, 24, 40, y.data());
    expect_close("gray output", y.data(), io.get("output"), kRestoreAbs);
}

TEST(RestoreRwkv, OfficialSizeParameterCount) {
    // 27,996,737: the PyTorch reference's count of the official network's used parameters.
    EXPECT_EQ(backbone::parameter_count(backbone::restore_rwkv_official()), 27996737);
}

TEST(RestoreRwkv, ConfigJsonRoundTripAndErrors) {
    RestoreRwkvConfig c;
    c.dim = 20;
    c.num_blocks = {0, 2, 2, 2};
    c.hidden_rate = 2.5;
    c.scale = 2;
    const auto back = backbone::restore_config_from_json(backbone::restore_config_to_json(c), "t");
    EXPECT_EQ(backbone::restore_config_to_json(back), backbone::restore_config_to_json(c));
    EXPECT_THROW(backbone::restore_config_from_json(R"({"dim": 8, "depth": 3})", "t"), Error);
    EXPECT_THROW(backbone::restore_config_from_json(R"({"inp_channels": 3, "out_channels": 1})", "t"), Error);
    EXPECT_THROW(backbone::restore_config_from_json(R"({"num_blocks": [1, 2]})", "t"), Error);
    EXPECT_THROW(backbone::restore_config_from_json("{", "t"), Error);
}

TEST(RestoreRwkv, StrictLoadingAndSizeChecks) {
    RestoreRwkvConfig cfg;
    auto store = weights::WeightStore::open(fixture_path("restore/rgb64.safetensors"));
    cfg = backbone::restore_config_from_json(store.metadata().at("config"), "rgb64");
    cfg.num_blocks[0] = 2;  // a block the file does not have
    EXPECT_THROW(RestoreRwkv::load(store, cfg), Error);
    auto store2 = weights::WeightStore::open(fixture_path("restore/rgb64.safetensors"));
    cfg.num_blocks[0] = 1;
    cfg.num_refinement_blocks = 0;  // the file has a block the config does not: unexpected keys
    EXPECT_THROW(RestoreRwkv::load(store2, cfg), Error);
    const RestoreRwkv model = load_fixture_model("rgb64");
    Tensor x({1, 12, 16, 3}), y({1, 12, 16, 3});
    EXPECT_THROW(model.forward(x.data(), 1, 12, 16, y.data()), Error);  // 12 is not a multiple of 8
    EXPECT_GT(model.peak_bytes(1, 64, 64), 64 * 64 * 8 * 4);
}

}  // namespace
}  // namespace rv::test
