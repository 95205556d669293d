// PSNR/SSIM against the Python references (tools/restore_metrics.py --make-fixtures: BasicSR rules
// in numpy = skimage, and Restore-RWKV's medical rules in torch float64), plus properties.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "tests/support/parity.h"
#include "vision/core/error.h"
#include "vision/metrics/psnr_ssim.h"

namespace rv::metrics {
namespace {

using nlohmann::json;

QualityImage from_json(const json& c, const char* key) {
    QualityImage img;
    img.height = c["height"].get<int64_t>();
    img.width = c["width"].get<int64_t>();
    img.channels = c["channels"].get<int64_t>();
    img.max_value = c["max_value"].get<double>();
    for (const auto& v : c[key]) img.values.push_back(v.get<double>());
    return img;
}

json load_cases() { return json::parse(test::read_text(test::fixture_path("metrics/cases.json")))["cases"]; }

TEST(PsnrSsim, MatchesPythonReferenceTo1e6) {
    const json cases = load_cases();
    ASSERT_GE(cases.size(), 5u);
    int checked = 0;
    for (const auto& c : cases) {
        const QualityImage pred = from_json(c, "pred"), ref = from_json(c, "ref");
        for (const auto& e : c["expected"]) {
            QualityOptions o;
            o.rules = e["rules"] == "medical" ? QualityRules::kMedical : QualityRules::kBasicSR;
            o.crop_border = e["crop_border"].get<int64_t>();
            o.y_channel = e["y"].get<bool>();
            const Quality q = image_quality(pred, ref, o);
            const std::string what = c["name"].get<std::string>() + " " + e.dump();
            EXPECT_NEAR(q.psnr, e["psnr"].get<double>(), 1e-6) << what;
            EXPECT_NEAR(q.ssim, e["ssim"].get<double>(), 1e-6) << what;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 5 * 8);
}

TEST(PsnrSsim, SeparableEqualsDirectWindow) {
    const json cases = load_cases();
    for (const auto& c : cases) {
        const QualityImage pred = from_json(c, "pred"), ref = from_json(c, "ref");
        for (auto w : {SsimWindow::kValid, SsimWindow::kSameZeroPad}) {
            const double fast = ssim(pred, ref, ref.max_value, w);
            const double slow = ref::ssim(pred, ref, ref.max_value, w);
            EXPECT_NEAR(fast, slow, 1e-12) << c["name"];
        }
    }
}

TEST(PsnrSsim, IdenticalImagesGiveInfinitePsnrAndUnitSsim) {
    const json cases = load_cases();
    const QualityImage ref = from_json(cases[0], "ref");
    for (auto rules : {QualityRules::kBasicSR, QualityRules::kMedical}) {
        QualityOptions o;
        o.rules = rules;
        const Quality q = image_quality(ref, ref, o);
        EXPECT_TRUE(std::isinf(q.psnr) && q.psnr > 0);
        EXPECT_NEAR(q.ssim, 1.0, 1e-12);
    }
}

TEST(PsnrSsim, SixteenBitScoresLikeItsEightBitCopy) {
    // A 16-bit image that is exactly 257 x an 8-bit one scores the same under the BasicSR rules.
    const json cases = load_cases();
    QualityImage p8 = from_json(cases[0], "pred"), r8 = from_json(cases[0], "ref");
    QualityImage p16 = p8, r16 = r8;
    p16.max_value = r16.max_value = 65535.0;
    for (double& v : p16.values) v *= 257.0;
    for (double& v : r16.values) v *= 257.0;
    QualityOptions o;
    o.y_channel = true;
    const Quality a = image_quality(p8, r8, o), b = image_quality(p16, r16, o);
    EXPECT_NEAR(a.psnr, b.psnr, 1e-9);
    EXPECT_NEAR(a.ssim, b.ssim, 1e-12);
}

TEST(PsnrSsim, YChannelOfKnownColours) {
    QualityImage img;
    img.height = img.width = 1;
    img.channels = 3;
    img.values = {255.0, 255.0, 255.0};
    EXPECT_NEAR(to_y_channel(img).values[0], 235.0, 1e-12);  // white -> 235 (studio swing)
    img.values = {0.0, 0.0, 0.0};
    EXPECT_NEAR(to_y_channel(img).values[0], 16.0, 1e-12);
    img.values = {255.0, 0.0, 0.0};
    EXPECT_NEAR(to_y_channel(img).values[0], 16.0 + 65.481, 1e-12);  // RGB order, not BGR
}

TEST(PsnrSsim, ErrorsAreClear) {
    const json cases = load_cases();
    const QualityImage a = from_json(cases[0], "ref"), b = from_json(cases[1], "ref");
    QualityOptions o;
    EXPECT_THROW(image_quality(a, b, o), Error);  // size mismatch
    QualityImage a16 = a;
    a16.max_value = 65535.0;
    EXPECT_THROW(image_quality(a16, a, o), Error);  // bit depth mismatch
    o.crop_border = 100;
    EXPECT_THROW(image_quality(a, a, o), Error);  // nothing left
    o.crop_border = 7;                            // 23x31 -> 9x17: too small for the 11x11 window
    EXPECT_THROW(image_quality(a, a, o), Error);
    QualityImage flat = a;
    for (double& v : flat.values) v = 7.0;
    QualityOptions med;
    med.rules = QualityRules::kMedical;
    try {
        image_quality(a, flat, med);
        ADD_FAILURE() << "a constant reference must be rejected under the medical rules";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("data range"), std::string::npos) << e.what();
    }
}

TEST(PsnrSsim, CropBorderRemovesEdges) {
    const json cases = load_cases();
    const QualityImage a = from_json(cases[0], "ref");
    const QualityImage c = crop_border(a, 2);
    EXPECT_EQ(c.height, a.height - 4);
    EXPECT_EQ(c.width, a.width - 4);
    EXPECT_EQ(c.at(0, 0, 1), a.at(2, 2, 1));
    EXPECT_EQ(c.at(c.height - 1, c.width - 1, 2), a.at(a.height - 3, a.width - 3, 2));
}

}  // namespace
}  // namespace rv::metrics
