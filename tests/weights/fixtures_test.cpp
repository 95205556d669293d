// Every fixture written by tools/make_weight_fixtures.py loads with the keys, shapes, dtypes and
// values PyTorch saved (expected.safetensors holds them as float32, written by the script's own
// writer). Layer: tests. PyTorch counterpart: torch.load + tensor.float().
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "tests/weights/weights_test_util.h"
#include "vision/weights/weight_store.h"

namespace rv::weights {
namespace {

using test::wt::fixture;

// Bitwise equality, except that any NaN matches any NaN.
bool same_float(float a, float b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

class Fixtures : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        expected_ = new WeightStore(WeightStore::open(fixture("expected.safetensors")));
    }
    static void TearDownTestSuite() {
        delete expected_;
        expected_ = nullptr;
    }
    static WeightStore* expected_;
};
WeightStore* Fixtures::expected_ = nullptr;

TEST_F(Fixtures, EveryFixtureMatchesPyTorch) {
    const auto& meta = expected_->metadata();
    int fixtures = 0, tensors = 0;
    for (const auto& [mk, wrapper] : meta) {
        if (mk.rfind("wrapper:", 0) != 0) continue;
        const std::string name = mk.substr(8);  // "file" or "file@wrapper_key"
        const size_t at = name.find('@');
        const std::string file = name.substr(0, at);
        const std::string wrapper_key = at == std::string::npos ? "" : name.substr(at + 1);
        SCOPED_TRACE(name);
        WeightStore s = WeightStore::open(fixture(file), wrapper_key);
        ++fixtures;
        EXPECT_EQ(s.wrapper(), wrapper);
        EXPECT_EQ(s.format(), file.ends_with(".pth") ? FileFormat::kPyTorchZip : FileFormat::kSafetensors);

        std::set<std::string> want;
        for (const std::string& k : expected_->keys())
            if (k.rfind(name + "/", 0) == 0) want.insert(k.substr(name.size() + 1));
        const std::vector<std::string> got_keys = s.keys();
        EXPECT_EQ(std::set<std::string>(got_keys.begin(), got_keys.end()), want);
        EXPECT_TRUE(std::is_sorted(got_keys.begin(), got_keys.end()));

        for (const std::string& key : want) {
            SCOPED_TRACE(key);
            ++tensors;
            const std::string ek = name + "/" + key;
            const TensorEntry& e = s.entry(key);
            EXPECT_EQ(dtype_name(e.dtype), meta.at("dtype:" + ek));
            const Tensor ref = expected_->get(ek);
            EXPECT_EQ(e.shape, ref.shape());
            EXPECT_EQ(e.nbytes, static_cast<size_t>(ref.numel()) * dtype_size(e.dtype));
            // get(): the fixtures hold inf and NaN on purpose, which take() refuses for a model.
            const Tensor got = s.get(key);
            s.mark_used(key);
            ASSERT_EQ(got.shape(), ref.shape());
            for (int64_t i = 0; i < ref.numel(); ++i)
                ASSERT_TRUE(same_float(got[i], ref[i]))
                    << "element " << i << ": " << got[i] << " vs " << ref[i];
        }
        EXPECT_TRUE(s.unused_keys().empty());
        EXPECT_NO_THROW(s.check_all_used());
    }
    EXPECT_EQ(fixtures, 12);
    EXPECT_EQ(tensors, 76);
}

// A few values written out by hand, so the test does not rest on expected.safetensors alone.
TEST_F(Fixtures, HandCheckedValues) {
    WeightStore v = WeightStore::open(fixture("views.pth"));
    // base = 0.5 * arange(12).reshape(3, 4); t = base.t()
    const Tensor t = v.get("t");
    ASSERT_EQ(t.shape(), (Shape{4, 3}));
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 3; ++j) EXPECT_EQ(t[i * 3 + j], 0.5f * static_cast<float>(j * 4 + i));
    const Tensor col = v.get("col");  // base[:, 2]
    EXPECT_EQ(col.shape(), (Shape{3}));
    EXPECT_EQ(col[0], 1.0f);
    EXPECT_EQ(col[2], 5.0f);
    const Tensor expanded = v.get("expanded");  // arange(4).expand(3, 4): stride 0
    EXPECT_EQ(expanded.shape(), (Shape{3, 4}));
    EXPECT_EQ(expanded[8 + 3], 3.0f);
    const Tensor scalar = v.get("scalar");
    EXPECT_TRUE(scalar.shape().empty());
    EXPECT_EQ(scalar.numel(), 1);
    EXPECT_EQ(scalar[0], 3.5f);
    const Tensor empty = v.get("empty");
    EXPECT_EQ(empty.shape(), (Shape{0, 4}));
    EXPECT_EQ(empty.numel(), 0);
    // Views sharing a storage: contiguous ones point into the same mapped bytes.
    EXPECT_EQ(v.entry("row").data, v.entry("base").data + 4 * sizeof(float));

    WeightStore d = WeightStore::open(fixture("dtypes.pth"));
    const Tensor f16 = d.get("f16");
    EXPECT_EQ(f16[0], 0.0f);
    EXPECT_TRUE(std::signbit(f16[1]));
    EXPECT_EQ(f16[4], 65504.0f);
    EXPECT_EQ(f16[6], std::ldexp(1.0f, -24));  // smallest f16 subnormal
    EXPECT_EQ(f16[7], std::ldexp(1.0f, -20));  // another subnormal
    EXPECT_TRUE(std::isinf(f16[8]) && f16[8] > 0);
    EXPECT_TRUE(std::isnan(f16[10]));
    const Tensor bf16 = d.get("bf16");
    EXPECT_EQ(bf16[3], -2.5f);
    EXPECT_TRUE(std::isinf(bf16[7]) && bf16[7] < 0);
    EXPECT_EQ(d.get("i64")[4], 4611686018427387904.0f);
    EXPECT_EQ(d.get("u8")[3], 255.0f);
    EXPECT_EQ(d.get("bool")[1], 0.0f);

    WeightStore mm = WeightStore::open(fixture("mmcls.pth"));
    EXPECT_EQ(mm.wrapper(), "state_dict");
    EXPECT_TRUE(mm.contains("backbone.patch_embed.projection.weight"));  // prefixes kept as stored
    EXPECT_TRUE(mm.contains("head.fc.bias"));
    EXPECT_EQ(mm.get("head.fc.bias")[2], 2.0f);
}

TEST_F(Fixtures, WrapperSelection) {
    EXPECT_EQ(WeightStore::open(fixture("ema_both.pth")).wrapper(), "model");
    WeightStore ema = WeightStore::open(fixture("ema_both.pth"), "model_ema");
    EXPECT_EQ(ema.wrapper(), "model_ema");
    EXPECT_EQ(ema.get("linear.weight")[0], 30.0f);  // Tiny(30.0): ramp from 30
    EXPECT_EQ(WeightStore::open(fixture("internimage.pth")).wrapper(), "model");
    EXPECT_EQ(WeightStore::open(fixture("ema_only.pth")).wrapper(), "model_ema");
    EXPECT_EQ(WeightStore::open(fixture("bare.pth")).wrapper(), "");
    try {
        WeightStore::open(fixture("internimage.pth"), "state_dict");
        FAIL() << "expected kNotFound";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kNotFound);
        EXPECT_NE(std::string(e.what()).find("'optimizer'"), std::string::npos) << e.what();  // lists keys
    }
    // 'optimizer' is a dict, but holds no tensors directly: not a state dict.
    EXPECT_THROW(WeightStore::open(fixture("internimage.pth"), "optimizer"), Error);
    EXPECT_THROW(WeightStore::open(fixture("mixed.safetensors"), "model"), Error);
}

TEST_F(Fixtures, LegacyFormatIsRefusedWithAdvice) {
    try {
        WeightStore::open(fixture("legacy.pth"));
        FAIL() << "legacy format loaded";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
        EXPECT_NE(m.find("legacy"), std::string::npos) << m;
        EXPECT_NE(m.find("torch.save(obj, f)"), std::string::npos) << m;
        EXPECT_NE(m.find("rwkv-vision convert"), std::string::npos) << m;
        EXPECT_NE(m.find("legacy.pth"), std::string::npos) << m;
    }
}

TEST_F(Fixtures, MaliciousGlobalIsRefused) {
    try {
        WeightStore::open(fixture("malicious.pth"));
        FAIL() << "os.system pickle loaded";
    } catch (const Error& e) {
        const std::string m = e.what();
        EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
        EXPECT_NE(m.find("'os.system'"), std::string::npos) << m;
        EXPECT_NE(m.find("malicious.pth"), std::string::npos) << m;
    }
}

TEST_F(Fixtures, SafetensorsMetadata) {
    WeightStore s = WeightStore::open(fixture("mixed.safetensors"));
    EXPECT_EQ(s.metadata().at("format"), "pt");
    EXPECT_EQ(s.metadata().at("model"), "tiny");
    EXPECT_TRUE(WeightStore::open(fixture("bare.pth")).metadata().empty());
}

}  // namespace
}  // namespace rv::weights
