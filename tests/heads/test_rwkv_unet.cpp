// RWKV-UNet parity with the PyTorch reference (tools/make_unet_fixtures.py → tests/fixtures/unet):
// random (det_init) weights for T at 224×224 and 128×192 and S (grey→RGB repeat) at 64×96, logits
// within 1e-4; the bundled brainmask_t1 on a real slice; loading rules (official keys, unused
// modules, BatchNorm statistics honoured) and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "backbone/rwkv_unet.h"
#include "heads/segmenter.h"
#include "tests/support/det_init.h"
#include "tests/support/parity.h"
#include "tests/support/tolerances.h"
#include "vision/core/error.h"

namespace rv::test {
namespace {

namespace fs = std::filesystem;

Tensor fixture_input(const std::string& name) {
    const auto j = nlohmann::json::parse(read_text(fixture_path("unet/" + name + ".init.json")));
    const auto& in = j.at("input");
    return det_tensor(in.at("key").get<std::string>(), in.at("shape").get<Shape>(), in.at("lo").get<double>(),
                      in.at("hi").get<double>(), j.at("seed").get<uint64_t>());
}

void check_det_fixture(const std::string& name) {
    SCOPED_TRACE(name);
    auto store = det_store_from_json(fixture_path("unet/" + name + ".init.json"));
    const auto cfg =
        backbone::rwkv_unet_config_from_json(read_text(fixture_path("unet/" + name + ".json")), name);
    backbone::RwkvUnet net;
    net.load(backbone::ParamReader(store, ""), store, cfg);
    store.check_all_used();
    auto io = weights::WeightStore::open(fixture_path("unet/" + name + ".io.pth"));
    const Tensor x = fixture_input(name);
    const Tensor want = io.get("logits");
    Tensor got(want.shape());
    std::map<std::string, Tensor> seen;
    net.forward(x.data(), x.dim(0), x.dim(2), x.dim(3), got.data(),
                [&](const std::string& what, const float* d, const Shape& s) {
                    Tensor t(s);
                    std::copy(d, d + t.numel(), t.data());
                    seen[what] = std::move(t);
                });
    ASSERT_TRUE(seen.count("enc4"));
    ASSERT_EQ(seen["enc4"].shape(), io.entry("enc4").shape);
    expect_close(name + " enc4", seen["enc4"].data(), io.get("enc4"), kLogitsAbs);
    expect_close(name + " logits", got.data(), want, kLogitsAbs);
}

TEST(RwkvUnetFixtures, TinyPresetAt224) { check_det_fixture("rwkv_unet_t_det_224"); }
TEST(RwkvUnetFixtures, TinyPresetNonSquare) { check_det_fixture("rwkv_unet_t_det_h128_w192"); }
TEST(RwkvUnetFixtures, SmallPresetGreyRepeat) { check_det_fixture("rwkv_unet_s_det_h64_w96"); }

// The same weights give the same logits for a batch of 2 as for each image alone, and for
// concurrent callers (forward is const and thread-safe).
TEST(RwkvUnet, BatchAndConcurrentCallsAgree) {
    const std::string name = "rwkv_unet_s_det_h64_w96";
    auto store = det_store_from_json(fixture_path("unet/" + name + ".init.json"));
    const auto cfg =
        backbone::rwkv_unet_config_from_json(read_text(fixture_path("unet/" + name + ".json")), name);
    backbone::RwkvUnet net;
    net.load(backbone::ParamReader(store, ""), store, cfg);
    const Tensor one = fixture_input(name);
    const int64_t n = one.numel(), H = one.dim(2), W = one.dim(3), K = cfg.num_classes;
    Tensor two({2, 1, H, W});
    for (int64_t i = 0; i < n; ++i) {
        two.data()[i] = one.data()[i];
        two.data()[n + i] = -one.data()[i];
    }
    Tensor batched({2, K, H, W}), a({1, K, H, W}), b({1, K, H, W});
    net.forward(two.data(), 2, H, W, batched.data());
    std::thread t1([&] { net.forward(two.data(), 1, H, W, a.data()); });
    std::thread t2([&] { net.forward(two.data() + n, 1, H, W, b.data()); });
    t1.join();
    t2.join();
    const int64_t m = K * H * W;
    for (int64_t i = 0; i < m; ++i) {
        ASSERT_EQ(batched.data()[i], a.data()[i]) << i;
        ASSERT_EQ(batched.data()[m + i], b.data()[i]) << i;
    }
}

// BatchNorm running statistics are part of the computation (folded, not dropped).
TEST(RwkvUnet, BatchNormStatisticsMatter) {
    const std::string name = "rwkv_unet_s_det_h64_w96";
    const auto cfg =
        backbone::rwkv_unet_config_from_json(read_text(fixture_path("unet/" + name + ".json")), name);
    const Tensor x = fixture_input(name);
    auto run = [&](bool shift_mean) {
        auto store = det_store_from_json(fixture_path("unet/" + name + ".init.json"));
        if (shift_mean) {
            std::vector<std::pair<std::string, Tensor>> ts;
            for (const auto& k : store.keys()) {
                Tensor t = store.get(k);
                if (k == "decoder4.proj.norm.running_mean")
                    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] += 0.5f;
                ts.emplace_back(k, std::move(t));
            }
            store = weights::WeightStore::from_tensors(std::move(ts));
        }
        backbone::RwkvUnet net;
        net.load(backbone::ParamReader(store, ""), store, cfg);
        Tensor y({1, cfg.num_classes, x.dim(2), x.dim(3)});
        net.forward(x.data(), 1, x.dim(2), x.dim(3), y.data());
        return y;
    };
    const Tensor a = run(false), b = run(true);
    const Diff d = compare(a.data(), b.data(), a.numel());
    EXPECT_GT(d.max_abs, 1e-2);
}

TEST(RwkvUnet, ErrorsNameTheProblem) {
    const std::string name = "rwkv_unet_s_det_h64_w96";
    auto store = det_store_from_json(fixture_path("unet/" + name + ".init.json"));
    const auto cfg =
        backbone::rwkv_unet_config_from_json(read_text(fixture_path("unet/" + name + ".json")), name);
    backbone::RwkvUnet net;
    net.load(backbone::ParamReader(store, ""), store, cfg);
    std::vector<float> x(1 * 1 * 40 * 64), y(2 * 40 * 64);
    try {
        net.forward(x.data(), 1, 40, 64, y.data());
        FAIL() << "40 rows is not a multiple of 16";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
        EXPECT_NE(std::string(e.what()).find("multiples of 16"), std::string::npos) << e.what();
    }
    // A config with a wrong width for these weights: the key and both shapes are named.
    auto cfg2 = cfg;
    cfg2.embed_dims[1] += 8;
    auto store2 = det_store_from_json(fixture_path("unet/" + name + ".init.json"));
    backbone::RwkvUnet net2;
    EXPECT_THROW(net2.load(backbone::ParamReader(store2, ""), store2, cfg2), Error);
    EXPECT_THROW(backbone::rwkv_unet_config_from_json(R"({"arch": "rwkv_unet_t", "depthz": [1]})", "x"),
                 Error);
    EXPECT_THROW(backbone::rwkv_unet_preset("rwkv_unet_xl"), Error);
}

// The bundled model, loaded by its zoo id, on one real slice (input and PyTorch logits stored).
TEST(RwkvUnetFixtures, BundledBrainmaskSample) {
    const std::string io_path = fixture_path("unet/bundled_sample.io.pth");
    if (!fs::exists(io_path)) GTEST_SKIP() << "no bundled sample fixture";
    const auto seg = heads::Segmenter::load("brainmask_t1");
    EXPECT_EQ(seg.in_channels(), 1);
    EXPECT_EQ(seg.num_classes(), 2);
    EXPECT_EQ(seg.class_names().at(1), "brain");
    EXPECT_EQ(seg.preprocess().orientation, "RAS");
    auto io = weights::WeightStore::open(io_path);
    const Tensor x = io.get("input");
    const Tensor want = io.get("logits");
    Tensor got(want.shape());
    seg.forward(x.data(), 1, static_cast<int>(x.dim(2)), static_cast<int>(x.dim(3)), got.data());
    expect_close("brainmask_t1 sample logits", got.data(), want, kLogitsAbs);
}

}  // namespace
}  // namespace rv::test
