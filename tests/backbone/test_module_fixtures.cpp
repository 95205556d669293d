// VRWKV spatial mix, channel mix and blocks (pre/post norm, layer scale, key_norm, ln0) against
// the PyTorch fixtures in tests/fixtures/ops (tools/make_model_fixtures.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backbone/block.h"
#include "tests/support/parity.h"
#include "tests/support/tolerances.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;

struct Fixture {
    std::string name;
    nlohmann::json settings;
    weights::WeightStore store;
    Tensor x, y;
    int64_t H = 0, W = 0;
};

std::vector<Fixture> load_all(const std::string& prefix) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(fixture_path("ops")))
        if (e.path().filename().string().starts_with(prefix) && e.path().extension() == ".json")
            names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    std::vector<Fixture> out;
    for (const auto& n : names) {
        auto store = weights::WeightStore::open(fixture_path("ops/" + n + ".pth"));
        Fixture f{n,
                  nlohmann::json::parse(read_text(fixture_path("ops/" + n + ".json"))),
                  std::move(store),
                  {},
                  {},
                  0,
                  0};
        f.x = f.store.take("x");
        f.y = f.store.take("y");
        const Tensor hw = f.store.take("hw");
        f.H = static_cast<int64_t>(hw[0]);
        f.W = static_cast<int64_t>(hw[1]);
        out.push_back(std::move(f));
    }
    return out;
}

backbone::VrwkvConfig config_of(const nlohmann::json& s) {
    backbone::VrwkvConfig c;
    c.embed_dims = s.at("embed_dims").get<int>();
    c.hidden_rate = s.at("hidden_rate").get<int>();
    c.post_norm = s.value("post_norm", false);
    c.key_norm = s.value("key_norm", false);
    if (s.contains("init_values") && !s.at("init_values").is_null())
        c.init_values = s.at("init_values").get<double>();
    c.token_split = s.at("token_split").get<int>();
    c.eps = s.at("eps").get<double>();
    return c;
}

TEST(ModuleFixtures, SpatialMix) {
    auto fixtures = load_all("spatial_mix_");
    ASSERT_GE(fixtures.size(), 2u);
    for (auto& f : fixtures) {
        const auto cfg = config_of(f.settings);
        backbone::SpatialMix m;
        m.load(backbone::ParamReader(f.store, ""), cfg.embed_dims, cfg.key_norm, cfg.wkv_params());
        f.store.check_all_used();  // every parameter of the fixture was consumed
        Tensor out(f.x.shape());
        m.forward(f.x.data(), out.data(), f.x.dim(0), f.H, f.W);
        expect_close(f.name, out.data(), f.y, kBlockAbs);
    }
}

TEST(ModuleFixtures, ChannelMix) {
    auto fixtures = load_all("channel_mix_");
    ASSERT_GE(fixtures.size(), 2u);
    for (auto& f : fixtures) {
        const auto cfg = config_of(f.settings);
        backbone::ChannelMix m;
        m.load(backbone::ParamReader(f.store, ""), cfg.embed_dims, cfg.hidden_dims(), cfg.key_norm);
        f.store.check_all_used();
        Tensor out(f.x.shape());
        m.forward(f.x.data(), out.data(), f.x.dim(0), f.H, f.W);
        expect_close(f.name, out.data(), f.y, kBlockAbs);
    }
}

TEST(ModuleFixtures, Blocks) {
    auto fixtures = load_all("block_");
    ASSERT_GE(fixtures.size(), 4u);
    for (auto& f : fixtures) {
        const auto cfg = config_of(f.settings);
        backbone::Block b;
        b.load(backbone::ParamReader(f.store, ""), f.settings.at("layer_id").get<int>(), cfg);
        f.store.check_all_used();
        Tensor out = f.x.clone();
        b.forward(out.data(), f.x.dim(0), f.H, f.W);
        expect_close(f.name, out.data(), f.y, kBlockAbs);
    }
}

}  // namespace
}  // namespace rv::test
