// spline_zoom against scipy.ndimage.zoom (orders 3 and 0; tools/make_medical_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vision/core/error.h"
#include "vision/image/spline_zoom.h"

namespace rv::image {
namespace {

TEST(SplineZoom, MatchesScipyZoom) {
    std::ifstream in(std::string(RV_SOURCE_DIR) + "/tests/fixtures/medical/zoom.json");
    const auto cases = nlohmann::json::parse(in);
    ASSERT_GE(cases.size(), 8u);
    for (const auto& c : cases) {
        const int64_t h = c["h"], w = c["w"], oh = c["oh"], ow = c["ow"];
        const int order = c["order"];
        SCOPED_TRACE(testing::Message() << h << "x" << w << " -> " << oh << "x" << ow << " order " << order);
        const auto x = c["in"].get<std::vector<float>>();
        const auto want = c["out"].get<std::vector<float>>();
        std::vector<float> got(static_cast<size_t>(oh * ow));
        spline_zoom(x.data(), h, w, got.data(), oh, ow, order);
        for (size_t i = 0; i < got.size(); ++i) {
            if (order == 0)
                ASSERT_EQ(got[i], want[i]) << i;
            else
                ASSERT_NEAR(got[i], want[i], 1e-4 * (1.0 + std::fabs(static_cast<double>(want[i])))) << i;
        }
    }
}

TEST(SplineZoom, RejectsBadArguments) {
    float x[4] = {};
    float y[4] = {};
    EXPECT_THROW(spline_zoom(x, 2, 2, y, 2, 2, 1), Error);
    EXPECT_THROW(spline_zoom(x, 0, 2, y, 2, 2, 3), Error);
}

}  // namespace
}  // namespace rv::image
