// The bundled models as a new user runs them (`classify -m vrwkv_fmnist -i data/samples/fmnist`):
// found by id, and their logits on the bundled samples equal the PyTorch
// reference's through the official pipeline (tests/fixtures/cli/bundled_expected.json, written by
// tools/make_bundled_fixture.py).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/apps/cli_runner.h"
#include "tests/support/parity.h"
#include "tests/support/tolerances.h"

namespace rv::test {
namespace {
using nlohmann::json;

TEST(Bundled, ModelsAreListedAsBundled) {
    const auto r = run_cli({"models"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto zoo = json::parse(read_text(std::string(RV_SOURCE_DIR) + "/data/models.json"));
    ASSERT_GE(zoo.at("models").size(), 1u);
    for (const auto& m : zoo.at("models")) {
        const std::string id = m.at("id");
        const auto line = r.out.find(id);
        ASSERT_NE(line, std::string::npos) << id;
        EXPECT_NE(r.out.find("bundled", line), std::string::npos) << r.out;
    }
}

TEST(Bundled, SampleLogitsMatchPyTorch) {
    const auto cases = json::parse(read_text(fixture_path("cli/bundled_expected.json")));
    ASSERT_GE(cases.size(), 6u);
    for (const auto& c : cases) {
        const std::string model = c.at("model"), image = c.at("image");
        SCOPED_TRACE(model + " " + image);
        const auto r = run_cli({"classify", "-q", "-m", model, "-i", image, "--format", "json",
                                "--output-type", "logit", "--topk", "0"});
        ASSERT_EQ(r.status, 0) << r.err;
        const auto out = json::parse(r.out);
        ASSERT_EQ(out.size(), 1u);
        std::map<int, double> got;
        for (const auto& t : out[0].at("topk")) got[t.at("index").get<int>()] = t.at("score").get<double>();
        const auto& expected = c.at("logits");
        ASSERT_EQ(got.size(), expected.size());
        double worst = 0;
        for (size_t i = 0; i < expected.size(); ++i)
            worst = std::max(worst, std::fabs(got[static_cast<int>(i)] - expected[i].get<double>()));
        EXPECT_LE(worst, kLogitsAbs) << "max abs logit error " << worst;
    }
}

TEST(Bundled, ReadmeCommandWorks) {
    // The first command of the README, minus the set-up.
    const auto r = run_cli({"classify", "-m", "vrwkv_fmnist", "-i", "data/samples/fmnist"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("sneaker_00009.png"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace rv::test
