// Whole models through the command line against PyTorch: real image files -> `rwkv-vision
// classify` -> logits, compared with the official evaluation pipeline (cv2 load, mmcls Resize
// with Pillow, CenterCrop, mmcv imnormalize, the tools/rwkv_ref model) to kLogitsAbs. Then the same
// checkpoints converted to .safetensors must give the same logits with no --config.
// Fixtures: tests/fixtures/cli, written by tools/make_cli_fixtures.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/apps/cli_runner.h"
#include "tests/support/parity.h"
#include "tests/support/tolerances.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const std::string kDir = "tests/fixtures/cli/";  // run_cli's cwd is the repository root
double g_worst = 0.0;                            // largest logit error seen, printed at the end

struct Case {
    std::string model, image;
    std::vector<std::string> args;
    std::vector<double> logits;
    std::string name;  // gtest parameter name
};

std::string describe(const Case& c) {
    std::string s = c.model + " on " + c.image;
    for (const auto& a : c.args) s += " " + a;
    return s;
}

void PrintTo(const Case& c, std::ostream* os) { *os << describe(c); }  // gtest's name for a failing case

std::vector<Case> load_cases() {
    std::vector<Case> cases;
    json j;
    try {
        j = json::parse(read_text(fixture_path("cli/expected.json")));
    } catch (const std::exception&) {
        return cases;  // CasesArePresent reports it
    }
    for (const auto& e : j) {
        Case c{e.at("model").get<std::string>(),
               e.at("image").get<std::string>(),
               e.at("args").get<std::vector<std::string>>(),
               e.at("logits").get<std::vector<double>>(),
               {}};
        std::string n = std::to_string(cases.size()) + "_" + c.model + "_" + c.image;
        for (const auto& a : c.args) n += "_" + a;
        for (char& ch : n)
            if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
        c.name = n;
        cases.push_back(std::move(c));
    }
    return cases;
}

std::vector<std::string> config_labels(const std::string& model) {
    const json j = json::parse(read_text(fixture_path("cli/" + model + ".json")));
    return j.at("labels").get<std::vector<std::string>>();
}

struct Scores {
    std::vector<double> logits;  // by class index
    std::vector<std::string> labels;
};

// Runs classify with all classes as raw logits and returns them by class index. Fails the test
// (and returns empty) on a bad exit status or malformed output.
Scores classify(const std::vector<std::string>& model_args, const Case& c) {
    std::vector<std::string> a = {"classify", "-q"};
    a.insert(a.end(), model_args.begin(), model_args.end());
    a.insert(a.end(), {"-i", kDir + c.image});
    a.insert(a.end(), c.args.begin(), c.args.end());
    a.insert(a.end(), {"--format", "json", "--output-type", "logit", "--topk", "0"});
    const CliResult r = run_cli(a);
    Scores s;
    EXPECT_EQ(r.status, 0) << describe(c) << ": " << r.err;
    if (r.status != 0) return s;
    json j;
    try {
        j = json::parse(r.out);
    } catch (const json::exception& e) {
        ADD_FAILURE() << describe(c) << ": stdout is not JSON (" << e.what() << "): " << r.out;
        return s;
    }
    if (!j.is_array() || j.size() != 1) {
        ADD_FAILURE() << describe(c) << ": expected one result, got " << r.out;
        return s;
    }
    const auto& top = j[0].at("topk");
    const size_t n = c.logits.size();
    if (top.size() != n) {
        ADD_FAILURE() << describe(c) << ": " << top.size() << " classes listed, the model has " << n;
        return s;
    }
    s.logits.assign(n, NAN);
    s.labels.assign(n, "");
    for (const auto& t : top) {
        const int i = t.at("index").get<int>();
        if (i < 0 || static_cast<size_t>(i) >= n || !std::isnan(s.logits[static_cast<size_t>(i)])) {
            ADD_FAILURE() << describe(c) << ": bad or repeated class index " << i << " in " << r.out;
            return {};
        }
        s.logits[static_cast<size_t>(i)] = t.at("score").get<double>();
        s.labels[static_cast<size_t>(i)] = t.at("label").get<std::string>();
    }
    return s;
}

// Max abs error over all classes, reported with where it is and both logit vectors.
void expect_logits(const std::string& what, const Scores& got, const Case& c) {
    if (got.logits.size() != c.logits.size()) return;  // already reported
    double worst = 0.0;
    size_t where = 0;
    bool finite = true;
    for (size_t i = 0; i < c.logits.size(); ++i) {
        if (!std::isfinite(got.logits[i])) finite = false;
        const double e = std::fabs(got.logits[i] - c.logits[i]);
        if (e > worst) worst = e, where = i;
    }
    std::ostringstream all;
    all.precision(9);
    for (size_t i = 0; i < c.logits.size(); ++i)
        all << "\n  class " << i << ": got " << got.logits[i] << ", PyTorch " << c.logits[i];
    EXPECT_TRUE(finite && worst <= kLogitsAbs)
        << what << " " << describe(c) << ": largest logit error " << worst << " (tolerance " << kLogitsAbs
        << ") at class " << where << all.str();
    ::testing::Test::RecordProperty("max_abs_error", std::to_string(worst));
    if (finite && worst > g_worst) g_worst = worst;
}

class CliParity : public ::testing::TestWithParam<Case> {
protected:
    static void SetUpTestSuite() { tmp_ = make_temp_dir("cli-parity"); }
    static void TearDownTestSuite() {
        if (!tmp_.empty()) fs::remove_all(tmp_);
        converted_.clear();
        std::cout << "[ CLI parity ] largest logit error vs PyTorch: " << g_worst << " (tolerance "
                  << kLogitsAbs << ")\n";
    }
    // The model converted once per test suite: `convert <pth> <tmp>/<model>.safetensors --config`.
    static std::string converted(const std::string& model) {
        auto it = converted_.find(model);
        if (it != converted_.end()) return it->second;
        const std::string out = tmp_ + "/" + model + ".safetensors";
        const CliResult r =
            run_cli({"convert", kDir + model + ".pth", out, "--config", kDir + model + ".json"});
        EXPECT_EQ(r.status, 0) << "convert " << model << ": " << r.err;
        converted_[model] = r.status == 0 ? out : "";
        return converted_[model];
    }
    static inline std::string tmp_;
    static inline std::map<std::string, std::string> converted_;
};

TEST_P(CliParity, LogitsMatchPyTorch) {
    const Case& c = GetParam();
    const Scores pth = classify({"-m", kDir + c.model + ".pth", "--config", kDir + c.model + ".json"}, c);
    expect_logits(".pth + --config:", pth, c);
    if (!pth.labels.empty()) {
        EXPECT_EQ(pth.labels, config_labels(c.model)) << describe(c);
    }

    // Converted: the safetensors file carries config, preprocessing and labels itself.
    ASSERT_FALSE(tmp_.empty());
    const std::string st = converted(c.model);
    ASSERT_FALSE(st.empty());
    const Scores sft = classify({"-m", st}, c);
    expect_logits(".safetensors (no --config):", sft, c);
    if (sft.logits.size() == pth.logits.size()) {
        for (size_t i = 0; i < sft.logits.size(); ++i) {
            EXPECT_EQ(sft.logits[i], pth.logits[i])
                << describe(c) << ": class " << i << " differs between .pth and "
                << "its conversion";
        }
        EXPECT_EQ(sft.labels, pth.labels) << describe(c);
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CliParity, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });

TEST(CliParityFixtures, CasesArePresent) {
    const auto cases = load_cases();
    ASSERT_GE(cases.size(), 20u) << "tests/fixtures/cli/expected.json missing or short: run "
                                    "/usr/bin/python3 tools/make_cli_fixtures.py";
    std::map<std::string, int> per_model;
    int no_resize = 0, overrides = 0;
    for (const auto& c : cases) {
        ++per_model[c.model];
        for (const auto& a : c.args) {
            no_resize += a == "--no-resize";
            overrides += a == "--input-size" || a == "--crop-pct";
        }
        EXPECT_TRUE(fs::exists(fixture_path("cli/" + c.image))) << c.image;
        EXPECT_TRUE(fs::exists(fixture_path("cli/" + c.model + ".pth"))) << c.model;
    }
    EXPECT_GE(per_model.size(), 3u);
    EXPECT_GE(no_resize, 1);
    EXPECT_GE(overrides, 1);
}

}  // namespace
}  // namespace rv::test
