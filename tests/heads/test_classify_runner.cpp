// classify_files: every mode, batch size and thread count gives the same logits, bit for bit, as
// one forward pass per image; a bad file fails alone; results come back in input order.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "heads/classifier.h"
#include "heads/classify_runner.h"
#include "vision/core/error.h"
#include "vision/core/threading.h"

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

TEST(ClassifyRunner, RejectsBadOptions) {
    EXPECT_THROW(heads::parse_run_mode("fastest"), Error);
    const heads::Classifier model = heads::Classifier::load("vrwkv_fmnist");
    heads::RunOptions o;
    o.batch = 0;
    EXPECT_THROW(heads::classify_files(model, {}, o, [](size_t, const heads::FileResult&) {}), Error);
}

}  // namespace
}  // namespace rv::test
