// Whole classifiers against PyTorch: tiny models stored as .pth in several containers and
// dtypes (logits and every intermediate), and full-size VRWKV-T/S with generated weights
// (tests/support/det_init) at 224×224 and 512×384.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "heads/classifier.h"
#include "tests/support/det_init.h"
#include "tests/support/parity.h"
#include "tests/support/tolerances.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> model_names(bool generated) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(fixture_path("models"))) {
        const std::string f = e.path().filename().string();
        if (!f.ends_with(".io.pth")) continue;
        const std::string name = f.substr(0, f.size() - 7);
        if (fs::exists(fixture_path("models/" + name + ".init.json")) == generated) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The input is stored in the .io.pth, or (large inputs) generated from the "input" entry of the
// .init.json with the same deterministic generator as the weights.
Tensor fixture_input(const std::string& name, const weights::WeightStore& io) {
    if (io.contains("input")) return io.get("input");
    const auto j = nlohmann::json::parse(read_text(fixture_path("models/" + name + ".init.json")));
    const auto& in = j.at("input");
    return det_tensor(in.at("key").get<std::string>(), in.at("shape").get<Shape>(), in.at("lo").get<double>(),
                      in.at("hi").get<double>(), j.at("seed").get<uint64_t>());
}

void check_model(const std::string& name, const heads::Classifier& model) {
    auto io = weights::WeightStore::open(fixture_path("models/" + name + ".io.pth"));
    const Tensor input = fixture_input(name, io);
    std::map<std::string, Tensor> seen;
    const Tensor logits = model.forward(input, [&](const std::string& what, const float* d, const Shape& s) {
        Tensor t(s);
        std::copy(d, d + t.numel(), t.data());
        seen[what] = std::move(t);
    });
    for (const auto& key : io.keys()) {
        if (key == "input" || key == "logits") continue;
        ASSERT_TRUE(seen.count(key)) << name << ": the model produced no '" << key << "'";
        ASSERT_EQ(seen[key].shape(), io.entry(key).shape) << name << " " << key;
        expect_close(name + " " + key, seen[key].data(), io.get(key), kLogitsAbs);
    }
    ASSERT_EQ(logits.shape(), io.entry("logits").shape);
    expect_close(name + " logits", logits.data(), io.get("logits"), kLogitsAbs);
}

TEST(ModelFixtures, TinyModelsFromPth) {
    const auto names = model_names(false);
    ASSERT_GE(names.size(), 4u);
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        heads::LoadOptions opt;
        opt.config_path = fixture_path("models/" + name + ".json");
        const auto model = heads::Classifier::load(fixture_path("models/" + name + ".pth"), opt);
        check_model(name, model);
    }
}

TEST(ModelFixtures, FullSizeGeneratedWeights) {
    const auto names = model_names(true);
    ASSERT_GE(names.size(), 4u);  // vrwkv_t and vrwkv_s at 224 and 512×384
    for (const auto& name : names) {
        SCOPED_TRACE(name);
        auto store = det_store_from_json(fixture_path("models/" + name + ".init.json"));
        heads::ModelDescription desc;
        desc.config = backbone::config_from_json(read_text(fixture_path("models/" + name + ".json")), name);
        const auto model = heads::Classifier::from_store(store, std::move(desc));
        check_model(name, model);
    }
}

TEST(DetInit, MatchesPythonConstants) {
    // The same float32 bit patterns are asserted by tools/tests/test_det_init.py.
    EXPECT_EQ(fnv1a64(""), 0xCBF29CE484222325ULL);
    EXPECT_EQ(fnv1a64("a"), 0xAF63DC4C8601EC8CULL);
    auto bits = [](float f) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        return u;
    };
    const Tensor a = det_tensor("a", {4}, 0.0, 1.0, 1);
    const uint32_t a_bits[] = {1061223578u, 1050849758u, 1026950775u, 1039640745u};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(bits(a[i]), a_bits[i]) << i;
    const Tensor w = det_tensor("backbone.layers.0.att.key.weight", {2, 3}, -0.5, 0.25, 12345);
    const uint32_t w_bits[] = {3201492627u, 1038616294u, 3172157706u, 3198959357u, 3184154744u, 1045537595u};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(bits(w[i]), w_bits[i]) << i;
}

}  // namespace
}  // namespace rv::test
