// WeightStore semantics (take / shape checks / used keys / from_tensors), file errors, f16 and
// bf16 conversion, and the safetensors writer. Layer: tests. PyTorch counterpart:
// Module.load_state_dict(strict=True), safetensors.torch.save_file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>

#include "tests/weights/weights_test_util.h"
#include "vision/weights/half.h"
#include "vision/weights/weight_store.h"

namespace rv::weights {
namespace {

using test::wt::fixture;

std::string error_of(const std::function<void()>& f, ErrorCode* code = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (code) *code = e.code();
        return e.what();
    }
    return "";
}

Tensor ramp(Shape shape, float base) {
    Tensor t(std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = base + 0.5f * static_cast<float>(i);
    return t;
}

std::filesystem::path temp_dir(const std::string& name) {
    auto dir = std::filesystem::path(::testing::TempDir()) /
               ("rv_weights_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

TEST(WeightStore, TakeChecksShapeAndNamesEverything) {
    WeightStore s = WeightStore::open(fixture("bare.pth"));
    ErrorCode code{};
    const std::string m = error_of([&] { s.take("linear.weight", Shape{3, 2}); }, &code);
    EXPECT_EQ(code, ErrorCode::kShapeMismatch);
    EXPECT_NE(m.find("bare.pth"), std::string::npos) << m;
    EXPECT_NE(m.find("'linear.weight'"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[3, 2]"), std::string::npos) << m;
    EXPECT_EQ(s.unused_keys().size(), s.keys().size());  // a failed take does not count as used

    const std::string nf = error_of([&] { s.take("nope"); }, &code);
    EXPECT_EQ(code, ErrorCode::kNotFound);
    EXPECT_NE(nf.find("'nope'"), std::string::npos);
    EXPECT_NE(nf.find("bare.pth"), std::string::npos);
    EXPECT_THROW(s.mark_used("nope"), Error);
    EXPECT_FALSE(s.contains("nope"));
    EXPECT_TRUE(s.contains("linear.weight"));
}

TEST(WeightStore, UsedKeyAccounting) {
    WeightStore s = WeightStore::open(fixture("bare.pth"));
    EXPECT_EQ(s.keys(), (std::vector<std::string>{"counter", "linear.bias", "linear.weight", "norm.bias",
                                                  "norm.weight"}));
    (void)s.take("linear.weight", Shape{2, 3});
    (void)s.take("linear.bias");
    (void)s.get("norm.bias");  // get() does not mark
    s.mark_used("counter");
    EXPECT_EQ(s.unused_keys(), (std::vector<std::string>{"norm.bias", "norm.weight"}));
    ErrorCode code{};
    const std::string m = error_of([&] { s.check_all_used(); }, &code);
    EXPECT_EQ(code, ErrorCode::kShapeMismatch);
    EXPECT_NE(m.find("'norm.bias'"), std::string::npos) << m;
    EXPECT_NE(m.find("'norm.weight'"), std::string::npos) << m;
    s.mark_used("norm.bias");
    s.mark_used("norm.weight");
    EXPECT_NO_THROW(s.check_all_used());

    WeightStore moved = std::move(s);  // still usable after a move
    EXPECT_EQ(moved.get("linear.bias").numel(), 2);
}

TEST(WeightStore, CheckAllUsedListsAtMostTwenty) {
    std::vector<std::pair<std::string, Tensor>> ts;
    for (int i = 0; i < 25; ++i)
        ts.emplace_back(std::string("k").append(std::to_string(100 + i)), Tensor(Shape{1}));
    WeightStore s = WeightStore::from_tensors(std::move(ts));
    const std::string m = error_of([&] { s.check_all_used(); });
    EXPECT_NE(m.find("'k119'"), std::string::npos) << m;
    EXPECT_EQ(m.find("'k120'"), std::string::npos) << m;
    EXPECT_NE(m.find("5 more"), std::string::npos) << m;
}

TEST(WeightStore, FromTensors) {
    std::vector<std::pair<std::string, Tensor>> ts;
    ts.emplace_back("a", ramp({2, 2}, 1.0f));
    ts.emplace_back("s", Tensor(Shape{}, 4.0f));
    WeightStore s = WeightStore::from_tensors(std::move(ts), {{"k", "v"}});
    EXPECT_EQ(s.path(), "<memory>");
    EXPECT_EQ(s.metadata().at("k"), "v");
    EXPECT_EQ(s.take("a", Shape{2, 2})[3], 2.5f);
    EXPECT_EQ(s.take("s", Shape{})[0], 4.0f);
    EXPECT_EQ(s.entry("a").dtype, DType::kF32);

    std::vector<std::pair<std::string, Tensor>> dup;
    dup.emplace_back("a", Tensor(Shape{1}));
    dup.emplace_back("a", Tensor(Shape{1}));
    EXPECT_THROW(WeightStore::from_tensors(std::move(dup)), Error);
}

TEST(WeightStore, FileErrorsNameTheFile) {
    ErrorCode code{};
    std::string m = error_of([&] { WeightStore::open("/nonexistent/dir/w.pth"); }, &code);
    EXPECT_EQ(code, ErrorCode::kNotFound);
    EXPECT_NE(m.find("/nonexistent/dir/w.pth"), std::string::npos);

    const auto dir = temp_dir("errors");
    m = error_of([&] { WeightStore::open(dir.string()); }, &code);
    EXPECT_EQ(code, ErrorCode::kInvalidArgument);
    EXPECT_NE(m.find("directory"), std::string::npos) << m;

    const std::string empty = (dir / "empty.pth").string();
    std::fclose(std::fopen(empty.c_str(), "wb"));
    m = error_of([&] { WeightStore::open(empty); }, &code);
    EXPECT_EQ(code, ErrorCode::kCorruptFile);
    EXPECT_NE(m.find("empty"), std::string::npos) << m;
    EXPECT_NE(m.find("empty.pth"), std::string::npos) << m;

    m = error_of([&] { WeightStore::open("/dev/null"); }, &code);
    EXPECT_EQ(code, ErrorCode::kInvalidArgument);
    EXPECT_THROW(WeightStore::from_bytes({}, "nothing"), Error);

    const std::string text = (dir / "notes.txt").string();
    {
        FILE* f = std::fopen(text.c_str(), "wb");
        std::fputs("hello, this is not a checkpoint\n", f);
        std::fclose(f);
    }
    m = error_of([&] { WeightStore::open(text); }, &code);
    EXPECT_EQ(code, ErrorCode::kCorruptFile);
    EXPECT_NE(m.find("notes.txt"), std::string::npos) << m;
    std::filesystem::remove_all(dir);
}

TEST(Half, F16WideningIsExactForAllPatterns) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const uint16_t bits = static_cast<uint16_t>(h);
        const float f = f16_to_float(bits);
        const uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
        // Reference value from the definition of binary16.
        double ref;
        if (exp == 0)
            ref = std::ldexp(static_cast<double>(mant), -24);
        else if (exp == 31)
            ref = mant ? NAN : INFINITY;
        else
            ref = std::ldexp(1.0 + mant / 1024.0, static_cast<int>(exp) - 15);
        if (h & 0x8000) ref = -ref;
        if (std::isnan(ref)) {
            ASSERT_TRUE(std::isnan(f)) << h;
            ASSERT_EQ(float_to_f16(f), bits | 0x200u) << h;  // payload kept, made quiet
        } else {
            ASSERT_EQ(static_cast<double>(f), ref) << h;
            ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << h;
            ASSERT_EQ(float_to_f16(f), bits) << h;  // round trip
        }
    }
}

TEST(Half, NarrowingRoundsToNearestEven) {
    EXPECT_EQ(float_to_f16(65504.0f), 0x7BFF);
    EXPECT_EQ(float_to_f16(65520.0f), 0x7C00);  // halfway to 2^16 rounds up to inf
    EXPECT_EQ(float_to_f16(65519.0f), 0x7BFF);
    EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // half the smallest subnormal: ties to 0
    EXPECT_EQ(float_to_f16(std::ldexp(1.5f, -25)), 0x0001);
    EXPECT_EQ(float_to_f16(std::ldexp(3.0f, -25)), 0x0002);         // 1.5 ulp ties to even (2)
    EXPECT_EQ(float_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie -> even mantissa
    EXPECT_EQ(float_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3C02);
    EXPECT_EQ(float_to_f16(-1e-10f), 0x8000);
}

TEST(Half, BF16IsTheUpperHalf) {
    for (uint32_t h = 0; h < 65536; h += 7) {
        const float f = bf16_to_float(static_cast<uint16_t>(h));
        EXPECT_EQ(std::bit_cast<uint32_t>(f), h << 16);
    }
}

TEST(Safetensors, RoundTripKeepsValuesAndMetadata) {
    const auto dir = temp_dir("roundtrip");
    const std::string path = (dir / "out.safetensors").string();
    Tensor a = ramp({2, 3}, -1.0f), b(Shape{}, 7.25f), c(Shape{0, 5}), d = ramp({1, 1, 3}, 100.0f);
    a[1] = -0.0f;
    a[2] = std::numeric_limits<float>::infinity();
    a[3] = std::numeric_limits<float>::denorm_min();
    const std::map<std::string, std::string> meta = {{"arch", "vrwkv_t"},
                                                     {"note", "quote \" and \\ and \xc3\xa9"}};
    write_safetensors(path, {{"z.last", &a}, {"b", &b}, {"empty", &c}, {"d", &d}}, meta);

    WeightStore s = WeightStore::open(path);
    EXPECT_EQ(s.format(), FileFormat::kSafetensors);
    EXPECT_EQ(s.metadata(), meta);
    EXPECT_EQ(s.keys(), (std::vector<std::string>{"b", "d", "empty", "z.last"}));
    for (const auto& [key, t] : std::vector<std::pair<std::string, const Tensor*>>{
             {"z.last", &a}, {"b", &b}, {"empty", &c}, {"d", &d}}) {
        const Tensor got = s.get(key);  // get(): the values include inf and NaN, which take() refuses
        ASSERT_EQ(got.shape(), t->shape());
        for (int64_t i = 0; i < t->numel(); ++i)
            EXPECT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>((*t)[i])) << key << " " << i;
    }
    // Header padded with spaces so the data starts 8-byte aligned; no temporary file left behind.
    const auto bytes = test::wt::read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()),
              1);

    // Overwrite atomically with different content.
    write_safetensors(path, {{"only", &b}}, {});
    WeightStore s2 = WeightStore::open(path);
    EXPECT_EQ(s2.keys(), (std::vector<std::string>{"only"}));
    EXPECT_TRUE(s2.metadata().empty());
    std::filesystem::remove_all(dir);
}

TEST(Safetensors, WriterRejectsBadInput) {
    const auto dir = temp_dir("writer");
    Tensor a(Shape{2});
    ErrorCode code{};
    error_of([&] { write_safetensors((dir / "x.safetensors").string(), {{"a", &a}, {"a", &a}}, {}); }, &code);
    EXPECT_EQ(code, ErrorCode::kInvalidArgument);
    error_of([&] { write_safetensors((dir / "x.safetensors").string(), {{"__metadata__", &a}}, {}); }, &code);
    EXPECT_EQ(code, ErrorCode::kInvalidArgument);
    error_of([&] { write_safetensors((dir / "x.safetensors").string(), {{"n", nullptr}}, {}); }, &code);
    EXPECT_EQ(code, ErrorCode::kInvalidArgument);
    const std::string m = error_of(
        [&] {
            write_safetensors((dir / "no" / "such" / "x.safetensors").string(), {{"a", &a}}, {});
        },
        &code);
    EXPECT_EQ(code, ErrorCode::kIo);
    EXPECT_NE(m.find("x.safetensors"), std::string::npos) << m;
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()),
              0);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rv::weights
