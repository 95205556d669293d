// `rwkv-vision eval restore` end to end on the metric fixtures (PNG pairs, 8/16-bit, gray/RGB):
// the JSON report equals the Python references (tools/restore_metrics.py) to 1e-6, and bad
// folders give clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"
#include "tests/support/parity.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

void check_rules(bool y, int crop, const std::string& rules) {
    const std::string dir = make_temp_dir("eval_restore");
    std::vector<std::string> args = {"eval",
                                     "restore",
                                     "-q",
                                     "--pred",
                                     fixture_path("metrics/pred"),
                                     "--ref",
                                     fixture_path("metrics/ref"),
                                     "--crop-border",
                                     std::to_string(crop),
                                     "-o",
                                     dir + "/scores"};
    if (y) args.push_back("--test-y-channel");
    if (rules == "medical") args.push_back("--medical");
    const CliResult r = run_cli(args);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(fs::exists(dir + "/scores.csv"));
    const json rep = json::parse(read_text(dir + "/scores.json"));
    const json cases = json::parse(read_text(fixture_path("metrics/cases.json")))["cases"];
    ASSERT_EQ(rep["count"].get<size_t>(), cases.size());
    double mean_psnr = 0;
    for (const auto& c : cases) {
        const json* img = nullptr;
        for (const auto& i : rep["images"])
            if (i["name"] == c["name"]) img = &i;
        ASSERT_NE(img, nullptr) << c["name"];
        for (const auto& e : c["expected"])
            if (e["rules"] == rules && e["y"] == y && e["crop_border"] == crop) {
                EXPECT_NEAR((*img)["psnr"].get<double>(), e["psnr"].get<double>(), 1e-6) << c["name"];
                EXPECT_NEAR((*img)["ssim"].get<double>(), e["ssim"].get<double>(), 1e-6) << c["name"];
                mean_psnr += e["psnr"].get<double>();
            }
    }
    EXPECT_NEAR(rep["mean"]["psnr"].get<double>(), mean_psnr / static_cast<double>(cases.size()), 1e-6);
}

TEST(EvalRestoreCli, MatchesPythonReferences) {
    check_rules(false, 0, "basicsr");
    check_rules(true, 2, "basicsr");
    check_rules(false, 2, "medical");
}

TEST(EvalRestoreCli, MissingPredictionIsAnError) {
    const std::string dir = make_temp_dir("eval_restore_missing");
    fs::copy_file(fixture_path("metrics/pred/rgb8_23x31.png"), dir + "/rgb8_23x31.png");
    const CliResult r = run_cli({"eval", "restore", "--pred", dir, "--ref", fixture_path("metrics/ref")});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("no prediction"), std::string::npos) << r.err;
}

TEST(EvalRestoreCli, SizeMismatchIsAnError) {
    const std::string pred = make_temp_dir("eval_restore_size_pred");
    const std::string ref = make_temp_dir("eval_restore_size_ref");
    fs::copy_file(fixture_path("metrics/pred/rgb8_23x31.png"), pred + "/a.png");
    fs::copy_file(fixture_path("metrics/ref/rgb8_40x36.png"), ref + "/a.png");
    const CliResult r = run_cli({"eval", "restore", "--pred", pred, "--ref", ref});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("same size"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rv::test
