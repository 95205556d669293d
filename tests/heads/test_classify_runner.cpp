// classify_files: every mode, batch size and thread count gives the same logits, bit for bit, as
// one forward pass per image; a bad file fails alone; results come back in input order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "heads/classifier.h"
#include "heads/classify_runner.h"
#include "vision/core/error.h"
#include "vision/core/limits.h"
#include "vision/core/threading.h"
#include "vision/ops/linear.h"

namespace rv::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> sample_files() {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(std::string(RV_SOURCE_DIR) + "/data/samples/fmnist"))
        if (e.path().extension() == ".png") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

TEST(ClassifyRunner, SameLogitsForEveryModeBatchAndThreadCount) {
    const heads::Classifier model = heads::Classifier::load("vrwkv_fmnist");
    std::vector<std::string> files = sample_files();
    ASSERT_GE(files.size(), 4u);
    const fs::path bad = fs::temp_directory_path() / "rv_runner_not_an_image.png";
    { std::ofstream(bad) << "not a png"; }
    files.insert(files.begin() + 2, bad.string());  // in the middle of a batch

    std::vector<std::vector<float>> expected;
    set_num_threads(1);
    for (const auto& f : files) {
        if (f == bad.string()) {
            expected.emplace_back();
            continue;
        }
        const Tensor logits = model.classify_file(f);
        expected.emplace_back(logits.data(), logits.data() + logits.numel());
    }
    for (int threads : {1, 2})
        for (heads::RunMode mode : {heads::RunMode::kLatency, heads::RunMode::kThroughput})
            for (int batch : {1, 3, 16}) {
                set_num_threads(threads);
                heads::RunOptions o;
                o.batch = batch;
                o.mode = mode;
                size_t next = 0;
                heads::classify_files(model, files, o, [&](size_t i, const heads::FileResult& r) {
                    const std::string what = std::string(heads::run_mode_name(mode)) + " batch " +
                                             std::to_string(batch) + " threads " + std::to_string(threads) +
                                             " file " + files[i];
                    EXPECT_EQ(i, next++) << what;  // in order
                    if (files[i] == bad.string()) {
                        EXPECT_FALSE(r.ok()) << what;
                        return;
                    }
                    ASSERT_TRUE(r.ok()) << what << ": " << r.error;
                    EXPECT_EQ(r.logits, expected[i]) << what;  // bit for bit
                });
                EXPECT_EQ(next, files.size());
            }
    set_num_threads(0);
    fs::remove(bad);
}

// bf16 matmuls (opt-in): the same top-1 as fp32 on the bundled samples, logits close.
TEST(ClassifyRunner, Bf16AgreesWithFp32OnTheSamples) {
    if (!ops::bf16_supported()) GTEST_SKIP() << "no fast bf16 matmuls on this CPU (oneDNN needs AVX-512)";
    const heads::Classifier fp32 = heads::Classifier::load("vrwkv_fmnist");
    heads::Classifier bf16 = heads::Classifier::load("vrwkv_fmnist");
    bf16.prepare(ops::Precision::kBf16);
    double max_err = 0.0;
    for (const auto& f : sample_files()) {
        const Tensor a = fp32.classify_file(f), b = bf16.classify_file(f);
        int64_t ia = 0, ib = 0;
        for (int64_t i = 0; i < a.numel(); ++i) {
            if (a[i] > a[ia]) ia = i;
            if (b[i] > b[ib]) ib = i;
            max_err = std::max(max_err, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
        }
        EXPECT_EQ(ia, ib) << f;
    }
    RecordProperty("bf16_max_logit_error", std::to_string(max_err));
    std::cout << "bf16 vs fp32 max logit error on the samples: " << max_err << "\n";
    EXPECT_LT(max_err, 0.25);  // bf16 keeps 8 mantissa bits: ~1% of logits of magnitude ~5
}

TEST(ClassifyRunner, RejectsBadOptions) {
    EXPECT_THROW(heads::parse_run_mode("fastest"), Error);
    const heads::Classifier model = heads::Classifier::load("vrwkv_fmnist");
    heads::RunOptions o;
    o.batch = 0;
    EXPECT_THROW(heads::classify_files(model, {}, o, [](size_t, const heads::FileResult&) {}), Error);
}

}  // namespace
}  // namespace rv::test

namespace rv::test {
namespace {

// A huge input is refused before anything is allocated: first by the token limit, and when that is
// raised, from the exact working-memory plan.
TEST(ClassifyRunner, HugeInputGetsALimitErrorNotAnOomKill) {
    const heads::Classifier model = heads::Classifier::load("vrwkv_fmnist");
    const Limits saved = limits();
    for (const bool raise_tokens : {false, true}) {
        Limits l = saved;
        if (raise_tokens) l.max_tokens = int64_t{1} << 40;
        set_limits(l);
        backbone::ForwardContext ctx;
        try {
            model.run_matmuls_only(ctx, {1, 1, 100000, 100000});
            ADD_FAILURE() << "expected a kLimit error";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kLimit);
            const char* expected = raise_tokens ? "MiB of working memory" : "patch tokens";
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
        }
        EXPECT_EQ(ctx.ws.capacity(), 0u);
    }
    set_limits(saved);
}

}  // namespace
}  // namespace rv::test
