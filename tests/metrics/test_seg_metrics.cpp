// Dice / HD95 / EDT against the Python reference (tools/seg_metrics_ref.py: scipy + a transliteration
// of medpy), the EDT against brute force, the empty-mask policies against calculate_metric_percase.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "vision/core/error.h"
#include "vision/metrics/seg_metrics.h"

namespace rv::metrics {
namespace {
using nlohmann::json;

json cases() {
    std::ifstream in(std::string(RV_SOURCE_DIR) + "/tests/fixtures/seg_metrics/cases.json");
    return json::parse(in);
}

Size3 size_of(const json& c) { return {c["size"][0], c["size"][1], c["size"][2]}; }
Spacing3 spacing_of(const json& c) { return {c["spacing"][0], c["spacing"][1], c["spacing"][2]}; }

std::vector<double> brute_edt(const std::vector<uint8_t>& f, const Size3& s, const Spacing3& h) {
    std::vector<double> out(f.size(), std::numeric_limits<double>::infinity());
    auto at = [&](int64_t i, int64_t j, int64_t k) { return static_cast<size_t>(i + s[0] * (j + s[1] * k)); };
    for (int64_t k = 0; k < s[2]; ++k)
        for (int64_t j = 0; j < s[1]; ++j)
            for (int64_t i = 0; i < s[0]; ++i)
                for (int64_t c = 0; c < s[2]; ++c)
                    for (int64_t b = 0; b < s[1]; ++b)
                        for (int64_t a = 0; a < s[0]; ++a) {
                            if (!f[at(a, b, c)]) continue;
                            const double dx = static_cast<double>(i - a) * h[0],
                                         dy = static_cast<double>(j - b) * h[1],
                                         dz = static_cast<double>(k - c) * h[2];
                            out[at(i, j, k)] = std::min(out[at(i, j, k)], dx * dx + dy * dy + dz * dz);
                        }
    return out;
}

TEST(SegMetrics, EdtEqualsBruteForce) {
    std::mt19937 rng(5);
    const Size3 sizes[] = {{7, 5, 4}, {1, 9, 6}, {11, 1, 1}, {6, 7, 5}, {3, 3, 3}};
    const Spacing3 spacings[] = {{1, 1, 1}, {0.7, 2.5, 1.3}, {3, 1, 1}, {1.9, 0.4, 0.8}, {1, 1, 1}};
    for (size_t t = 0; t < 5; ++t) {
        for (double density : {0.02, 0.2, 0.7}) {
            const Size3 s = sizes[t];
            std::vector<uint8_t> f(static_cast<size_t>(s[0] * s[1] * s[2]));
            for (auto& v : f) v = std::uniform_real_distribution<double>(0, 1)(rng) < density;
            const auto got = edt_squared(f.data(), s, spacings[t]);
            const auto want = brute_edt(f, s, spacings[t]);
            for (size_t i = 0; i < f.size(); ++i) {
                if (std::isinf(want[i])) {
                    EXPECT_TRUE(std::isinf(got[i]));
                } else {
                    EXPECT_NEAR(got[i], want[i], 1e-9 * (1 + want[i])) << "case " << t << " voxel " << i;
                }
            }
        }
    }
}

TEST(SegMetrics, SurfaceAndEdtMatchScipy) {
    int checked = 0;
    const json all = cases();
    for (const auto& c : all["cases"]) {
        if (!c.contains("edt_pred_surface")) continue;
        SCOPED_TRACE(c["name"].get<std::string>());
        const auto pred = c["pred"].get<std::vector<uint8_t>>();
        const auto surf = mask_surface(pred.data(), size_of(c));
        EXPECT_EQ(surf, c["surface_pred"].get<std::vector<uint8_t>>());
        const auto dt = edt_squared(surf.data(), size_of(c), spacing_of(c));
        const auto want = c["edt_pred_surface"].get<std::vector<double>>();
        for (size_t i = 0; i < dt.size(); ++i) EXPECT_NEAR(std::sqrt(dt[i]), want[i], 1e-6) << i;
        ++checked;
    }
    EXPECT_GE(checked, 5);
}

TEST(SegMetrics, DiceAndHd95MatchMedpy) {
    int checked = 0;
    const json all = cases();
    for (const auto& c : all["cases"]) {
        SCOPED_TRACE(c["name"].get<std::string>());
        const auto pred = c["pred"].get<std::vector<uint8_t>>();
        const auto ref = c["ref"].get<std::vector<uint8_t>>();
        const LabelCounts n = label_counts(pred.data(), ref.data(), 1, size_of(c), spacing_of(c));
        const DiceHd95 m = apply_policy(n, EmptyPolicy::kTransUnet);
        EXPECT_NEAR(m.dice, c["dice"].get<double>(), 1e-12);
        EXPECT_NEAR(m.hd95, c["hd95"].get<double>(), 1e-6);
        EXPECT_NEAR(hd95(pred.data(), ref.data(), size_of(c), {1, 1, 1}), c["hd95_voxel"].get<double>(),
                    1e-6);
        ++checked;
    }
    EXPECT_GE(checked, 15);
}

TEST(SegMetrics, EmptyPolicies) {
    const json all = cases();
    for (const auto& c : all["transunet_policy"]) {
        SCOPED_TRACE(c["name"].get<std::string>());
        LabelCounts n;
        n.pred = c["pred"];
        n.ref = c["ref"];
        const DiceHd95 m = apply_policy(n, EmptyPolicy::kTransUnet);
        EXPECT_EQ(m.dice, c["dice"].get<double>());
        EXPECT_EQ(m.hd95, c["hd95"].get<double>());
        const DiceHd95 nn = apply_policy(n, EmptyPolicy::kNnUnet);
        EXPECT_TRUE(std::isnan(nn.hd95));
        EXPECT_EQ(std::isnan(nn.dice), n.pred == 0 && n.ref == 0);
    }
    EXPECT_EQ(parse_empty_policy("nnunet"), EmptyPolicy::kNnUnet);
    EXPECT_THROW(parse_empty_policy("zero"), Error);
    const uint8_t empty[8] = {};
    const uint8_t one[8] = {1};
    EXPECT_THROW(hd95(empty, one, {2, 2, 2}, {1, 1, 1}), Error);
}

TEST(SegMetrics, PercentileIsNumpyLinear) {
    std::vector<double> v = {5, 1, 4, 2, 3};  // numpy.percentile(.., 95) = 4.8
    EXPECT_NEAR(percentile_linear(v, 95), 4.8, 1e-12);
    std::vector<double> w = {7};
    EXPECT_EQ(percentile_linear(w, 95), 7);
    std::vector<double> x = {0, 10};  // 9.5
    EXPECT_NEAR(percentile_linear(x, 95), 9.5, 1e-12);
}

}  // namespace
}  // namespace rv::metrics
