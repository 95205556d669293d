// Presets and the JSON config: published parameter counts, strict fields, official field names.
#include <gtest/gtest.h>

#include "backbone/vrwkv_config.h"
#include "vision/core/error.h"

namespace rv::test {
namespace {

TEST(VrwkvConfig, PresetsHaveThePublishedParameterCounts) {
    // Counted by the PyTorch reference (tools/rwkv_ref, the official module structure):
    // sum(p.numel() for p in build_classifier(preset_config(name)).parameters()). They round to the
    // README's 6.2M / 23.8M / 93.6M (README: 93.7M) / 334.9M; spec §2.9's own count is a few
    // thousand lower for each.
    EXPECT_EQ(backbone::parameter_count(backbone::vrwkv_preset("vrwkv_t")), 6155176);
    EXPECT_EQ(backbone::parameter_count(backbone::vrwkv_preset("vrwkv_s")), 23820136);
    EXPECT_EQ(backbone::parameter_count(backbone::vrwkv_preset("vrwkv_b")), 93645544);
    EXPECT_EQ(backbone::parameter_count(backbone::vrwkv_preset("vrwkv_l")), 334881768);
}

TEST(VrwkvConfig, PresetFacts) {
    const auto l = backbone::vrwkv_preset("vrwkv_l");
    EXPECT_EQ(l.token_split, 16);  // trained with the InternImage kernel
    EXPECT_EQ(l.pos_grid(), 12);
    EXPECT_TRUE(l.key_norm && l.post_norm && l.init_values);
    EXPECT_FALSE(backbone::vrwkv_preset("vrwkv_t").post_norm);
    EXPECT_THROW(backbone::vrwkv_preset("vrwkv_x"), Error);
}

TEST(VrwkvConfig, JsonRoundTripAndStrictness) {
    auto c = backbone::vrwkv_preset("vrwkv_l");
    const auto back = backbone::config_from_json(backbone::config_to_json(c), "test");
    EXPECT_EQ(backbone::parameter_count(back), backbone::parameter_count(c));
    EXPECT_EQ(back.token_split, 16);
    EXPECT_THROW(backbone::config_from_json(R"({"embed_dim": 192})", "t"), Error);       // typo
    EXPECT_THROW(backbone::config_from_json(R"({"depth": "12"})", "t"), Error);          // wrong type
    EXPECT_THROW(backbone::config_from_json(R"({"embed_dims": 0})", "t"), Error);        // impossible
    EXPECT_THROW(backbone::config_from_json(R"({"hidden_rate": 100000})", "t"), Error);  // overflow bound
    EXPECT_THROW(backbone::config_from_json("[1, 2]", "t"), Error);
    EXPECT_THROW(backbone::config_from_json("{", "t"), Error);
    EXPECT_THROW(backbone::config_from_json(R"({"head": "mlp"})", "t"), Error);  // no hidden width
}

TEST(VrwkvConfig, AcceptsAnOfficialBackboneDict) {
    // classification/configs/vrwkv/vrwkv_tiny_8xb128_in1k.py backbone dict, as JSON.
    const auto c = backbone::config_from_json(
        R"({"type": "VRWKV", "img_size": 224, "patch_size": 16, "embed_dims": 192, "depth": 12,
            "drop_path_rate": 0.1, "with_cp": false, "init_mode": "fancy", "shift_pixel": 1,
            "channel_gamma": 0.25, "final_norm": true, "k_norm": true})",
        "official");
    EXPECT_EQ(c.embed_dims, 192);
    EXPECT_TRUE(c.key_norm);  // k_norm, the InternImage spelling
    EXPECT_THROW(backbone::config_from_json(R"({"type": "VRWKV6"})", "t"), Error);
    EXPECT_THROW(backbone::config_from_json(R"({"shift_pixel": 2})", "t"), Error);
}

}  // namespace
}  // namespace rv::test
