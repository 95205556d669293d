// Random VRWKV checkpoints for benchmarks. Layer: heads.
#include "heads/random_weights.h"

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace rv::heads {

weights::WeightStore random_checkpoint(const backbone::VrwkvConfig& cfg, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::vector<std::pair<std::string, Tensor>> t;
    auto add = [&](const std::string& key, Shape shape, auto&& fill) {
        Tensor x(std::move(shape));
        for (int64_t i = 0; i < x.numel(); ++i) x[i] = fill(i);
        t.emplace_back(key, std::move(x));
    };
    auto gauss = [&](int64_t) { return normal(rng); };
    auto ones = [](int64_t) { return 1.0f; };
    auto zeros = [](int64_t) { return 0.0f; };
    auto mix = [&](int64_t) { return unit(rng); };
    const int64_t C = cfg.embed_dims, Hd = cfg.hidden_dims(), p = cfg.patch_size, g = cfg.pos_grid();
    const std::string b = "backbone.";
    auto layer_norm = [&](const std::string& key, int64_t n) {
        add(key + ".weight", {n}, ones);
        add(key + ".bias", {n}, zeros);
    };
    add(b + "patch_embed.projection.weight", {C, cfg.in_channels, p, p}, gauss);
    add(b + "patch_embed.projection.bias", {C}, zeros);
    add(b + "pos_embed", {1, g * g, C}, gauss);
    for (int i = 0; i < cfg.depth; ++i) {
        const std::string l = b + "layers." + std::to_string(i) + ".";
        if (i == 0) layer_norm(l + "ln0", C);
        layer_norm(l + "ln1", C);
        layer_norm(l + "ln2", C);
        if (cfg.init_values) {
            const auto v = static_cast<float>(*cfg.init_values);
            add(l + "gamma1", {C}, [v](int64_t) { return v; });
            add(l + "gamma2", {C}, [v](int64_t) { return v; });
        }
        // The official fancy init: decay from -5 to 3 across channels, shaped by depth.
        const double ratio = cfg.depth > 1 ? static_cast<double>(i) / (cfg.depth - 1) : 0.0;
        add(l + "att.spatial_decay", {C}, [&](int64_t c) {
            const double h = C > 1 ? static_cast<double>(c) / static_cast<double>(C - 1) : 0.0;
            return static_cast<float>(-5.0 + 8.0 * std::pow(h, 0.7 + 1.3 * ratio));
        });
        add(l + "att.spatial_first", {C}, [&](int64_t c) {
            const double zigzag = static_cast<double>((c + 1) % 3 - 1) * 0.5;
            return static_cast<float>(std::log(0.3) + zigzag);
        });
        for (const char* m : {"k", "v", "r"}) add(l + "att.spatial_mix_" + m, {1, 1, C}, mix);
        for (const char* m : {"key", "value", "receptance", "output"})
            add(l + "att." + m + ".weight", {C, C}, gauss);
        if (cfg.key_norm) layer_norm(l + "att.key_norm", C);
        add(l + "ffn.spatial_mix_k", {1, 1, C}, mix);
        add(l + "ffn.spatial_mix_r", {1, 1, C}, mix);
        add(l + "ffn.key.weight", {Hd, C}, gauss);
        add(l + "ffn.receptance.weight", {C, C}, gauss);
        add(l + "ffn.value.weight", {C, Hd}, gauss);
        if (cfg.key_norm) layer_norm(l + "ffn.key_norm", Hd);
    }
    layer_norm(b + "ln1", C);
    if (cfg.head == backbone::HeadKind::kMlp) {
        add("head.0.weight", {cfg.head_hidden_dims, C}, gauss);
        add("head.0.bias", {cfg.head_hidden_dims}, zeros);
        add("head.2.weight", {cfg.num_classes, cfg.head_hidden_dims}, gauss);
        add("head.2.bias", {cfg.num_classes}, zeros);
    } else {
        add("head.fc.weight", {cfg.num_classes, C}, gauss);
        add("head.fc.bias", {cfg.num_classes}, zeros);
    }
    return weights::WeightStore::from_tensors(std::move(t));
}

}  // namespace rv::heads
