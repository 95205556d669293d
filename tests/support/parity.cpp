// Parity comparison helpers. Layer: tests.
#include "tests/support/parity.h"

#include <cmath>
#include <fstream>
#include <sstream>

namespace rv::test {

std::string fixture_path(const std::string& relative) {
    return std::string(RV_SOURCE_DIR) + "/tests/fixtures/" + relative;
}

Diff compare(const float* got, const float* expected, int64_t n) {
    Diff d;
    for (int64_t i = 0; i < n; ++i) {
        const double g = static_cast<double>(got[i]), e = static_cast<double>(expected[i]);
        if (!std::isfinite(g) && std::isfinite(e)) {
            d.finite = false;
            d.where = i;
            d.max_abs = INFINITY;
            return d;
        }
        const double a = std::fabs(g - e);
        if (a > d.max_abs) {
            d.max_abs = a;
            d.where = i;
        }
        const double r = a / std::max(std::fabs(e), 1e-12);
        if (r > d.max_rel) d.max_rel = r;
    }
    return d;
}

void expect_close(const std::string& what, const float* got, const Tensor& expected, double atol) {
    const Diff d = compare(got, expected.data(), expected.numel());
    EXPECT_TRUE(d.finite && d.max_abs <= atol)
        << what << ": max abs error " << d.max_abs << " (tolerance " << atol << ") at flat index " << d.where
        << " of " << shape_str(expected.shape()) << ": got " << (d.where >= 0 ? got[d.where] : 0.0f)
        << ", expected " << (d.where >= 0 ? expected[d.where] : 0.0f) << "; max rel " << d.max_rel;
}

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    EXPECT_TRUE(f.good()) << "cannot open " << path;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace rv::test
