// Strict loading: a checkpoint that does not match the model fails with a message naming the
// file, the key and what was expected, never loads silently. Checkpoints are built in memory.
#include <gtest/gtest.h>

#include "heads/classifier.h"
#include "tests/support/det_init.h"
#include "vision/core/error.h"

namespace rv::test {
namespace {

// Every tensor of an mmcls VRWKV classifier for cfg, with small deterministic values.
std::vector<std::pair<std::string, Tensor>> checkpoint_for(const backbone::VrwkvConfig& c,
                                                           const std::string& prefix) {
    const int64_t C = c.embed_dims, H = c.hidden_dims(), p = c.patch_size, g = c.pos_grid();
    std::vector<std::pair<std::string, Tensor>> t;
    auto add = [&](const std::string& key, Shape shape, double lo = -0.1, double hi = 0.1) {
        t.emplace_back(prefix + key, det_tensor(key, shape, lo, hi, 5));
    };
    add("backbone.patch_embed.projection.weight", {C, c.in_channels, p, p});
    add("backbone.patch_embed.projection.bias", {C});
    add("backbone.pos_embed", {1, g * g, C});
    for (int i = 0; i < c.depth; ++i) {
        const std::string l = "backbone.layers." + std::to_string(i) + ".";
        for (const char* ln : {"ln1", "ln2"}) {
            add(l + ln + ".weight", {C}, 0.9, 1.1);
            add(l + ln + ".bias", {C});
        }
        if (i == 0) {
            add(l + "ln0.weight", {C}, 0.9, 1.1);
            add(l + "ln0.bias", {C});
        }
        if (c.init_values) {
            add(l + "gamma1", {C}, 0.5, 1.0);
            add(l + "gamma2", {C}, 0.5, 1.0);
        }
        add(l + "att.spatial_decay", {C}, -2, 2);
        add(l + "att.spatial_first", {C}, -1, 1);
        for (const char* m : {"k", "v", "r"}) add(l + "att.spatial_mix_" + m, {1, 1, C}, 0, 1);
        for (const char* w : {"key", "value", "receptance", "output"})
            add(l + "att." + w + ".weight", {C, C});
        for (const char* m : {"k", "r"}) add(l + "ffn.spatial_mix_" + m, {1, 1, C}, 0, 1);
        add(l + "ffn.key.weight", {H, C});
        add(l + "ffn.receptance.weight", {C, C});
        add(l + "ffn.value.weight", {C, H});
        if (c.key_norm) {
            add(l + "att.key_norm.weight", {C}, 0.9, 1.1);
            add(l + "att.key_norm.bias", {C});
            add(l + "ffn.key_norm.weight", {H}, 0.9, 1.1);
            add(l + "ffn.key_norm.bias", {H});
        }
    }
    add("backbone.ln1.weight", {C}, 0.9, 1.1);
    add("backbone.ln1.bias", {C});
    if (c.head == backbone::HeadKind::kMlp) {
        add("head.0.weight", {c.head_hidden_dims, C});
        add("head.0.bias", {c.head_hidden_dims});
        add("head.2.weight", {c.num_classes, c.head_hidden_dims});
        add("head.2.bias", {c.num_classes});
    } else {
        add("head.fc.weight", {c.num_classes, C});
        add("head.fc.bias", {c.num_classes});
    }
    return t;
}

backbone::VrwkvConfig small(bool post_norm, bool layer_scale, bool key_norm) {
    backbone::VrwkvConfig c;
    c.embed_dims = 8;
    c.depth = 2;
    c.img_size = 16;
    c.patch_size = 8;
    c.num_classes = 3;
    c.post_norm = post_norm;
    if (layer_scale) c.init_values = 1.0;
    c.key_norm = key_norm;
    return c;
}

// Loads `tensors` as a model described by `cfg`; returns the error message ("" if it loaded).
std::string load_error(std::vector<std::pair<std::string, Tensor>> tensors, const backbone::VrwkvConfig& cfg,
                       bool explicit_config = true) {
    auto store = weights::WeightStore::from_tensors(std::move(tensors));
    heads::ModelDescription d;
    d.config = cfg;
    d.config_is_explicit = explicit_config;
    try {
        auto model = heads::Classifier::from_store(store, std::move(d));
        Tensor x({1, 3, 16, 16}, 0.5f);
        EXPECT_EQ(model.forward(x).numel(), model.num_classes());
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::vector<std::pair<std::string, Tensor>> without(std::vector<std::pair<std::string, Tensor>> t,
                                                    const std::string& needle) {
    std::erase_if(t, [&](const auto& kv) { return kv.first.find(needle) != std::string::npos; });
    return t;
}

TEST(Loading, CompleteCheckpointsLoad) {
    for (bool post : {false, true})
        for (bool ls : {false, true})
            for (bool kn : {false, true}) {
                const auto cfg = small(post, ls, kn);
                EXPECT_EQ(load_error(checkpoint_for(cfg, ""), cfg), "") << post << ls << kn;
            }
    // DataParallel's "module." prefix on every key.
    const auto cfg = small(false, false, false);
    EXPECT_EQ(load_error(checkpoint_for(cfg, "module."), cfg), "");
}

TEST(Loading, OptionalPartsTheFileHasAreUsed) {
    // VRWKV-B case (spec §2.9): the file has key_norm although the config does not say so.
    const auto with = small(true, true, true);
    EXPECT_EQ(load_error(checkpoint_for(with, ""), small(true, true, false)), "");
}

TEST(Loading, MissingRequiredPartsFail) {
    const auto cfg = small(true, true, true);
    EXPECT_NE(load_error(without(checkpoint_for(cfg, ""), "gamma"), cfg).find("gamma1"), std::string::npos);
    EXPECT_NE(load_error(without(checkpoint_for(cfg, ""), "key_norm"), cfg).find("key_norm"),
              std::string::npos);
    EXPECT_NE(load_error(without(checkpoint_for(cfg, ""), "layers.1.ffn.value"), cfg)
                  .find("layers.1.ffn.value.weight"),
              std::string::npos);
    EXPECT_NE(load_error(without(checkpoint_for(cfg, ""), "head."), cfg).find("head"), std::string::npos);
}

TEST(Loading, StructureMismatchesFail) {
    auto cfg = small(false, false, false);
    auto deeper = cfg;
    deeper.depth = 3;
    EXPECT_NE(load_error(checkpoint_for(deeper, ""), cfg).find("file has 3 blocks"), std::string::npos);
    auto classes = cfg;
    classes.num_classes = 7;
    EXPECT_NE(load_error(checkpoint_for(classes, ""), cfg).find("7 classes"), std::string::npos);
    EXPECT_EQ(load_error(checkpoint_for(classes, ""), cfg, /*explicit_config=*/false).find("7 classes"),
              std::string::npos);
    auto mlp = cfg;
    mlp.head = backbone::HeadKind::kMlp;
    mlp.head_hidden_dims = 6;
    EXPECT_NE(load_error(checkpoint_for(mlp, ""), cfg).find("head.0.weight"), std::string::npos);
    auto wide = cfg;
    wide.embed_dims = 16;
    const std::string e = load_error(checkpoint_for(wide, ""), cfg);
    EXPECT_NE(e.find("[16, 3, 8, 8]"), std::string::npos) << e;  // names the found shape
    EXPECT_NE(e.find("[8, 3, 8, 8]"), std::string::npos) << e;   // and the expected one
}

TEST(Loading, UnexpectedKeysAndBadShapesFail) {
    const auto cfg = small(false, false, false);
    auto extra = checkpoint_for(cfg, "");
    extra.emplace_back("backbone.layers.0.att.dwconv.weight", Tensor({8, 1, 3, 3}));
    EXPECT_NE(load_error(std::move(extra), cfg).find("dwconv"), std::string::npos);
    auto bad_pos = checkpoint_for(cfg, "");
    for (auto& [k, t] : bad_pos)
        if (k == "backbone.pos_embed") t = Tensor({4, 8});
    EXPECT_NE(load_error(std::move(bad_pos), cfg).find("pos_embed"), std::string::npos);
}

TEST(Loading, NonFiniteWeightsAreReported) {
    const auto cfg = small(false, false, false);
    auto t = checkpoint_for(cfg, "");
    for (auto& [k, v] : t)
        if (k == "head.fc.bias") v[0] = std::numeric_limits<float>::quiet_NaN();
    const std::string e = load_error(std::move(t), cfg);
    EXPECT_NE(e.find("must be finite"), std::string::npos) << e;
    EXPECT_NE(e.find("head.fc.bias"), std::string::npos) << e;
}

}  // namespace
}  // namespace rv::test
