// Resource limits: parsing, environment, and that set_limits() refuses nonsense.
#include <gtest/gtest.h>

#include <cstdlib>

#include "vision/core/error.h"
#include "vision/core/limits.h"

namespace rv {
namespace {

TEST(Limits, ParseAcceptsBinarySuffixes) {
    EXPECT_EQ(parse_limit("268435456", "x"), int64_t{1} << 28);
    EXPECT_EQ(parse_limit("64K", "x"), int64_t{64} << 10);
    EXPECT_EQ(parse_limit("512m", "x"), int64_t{512} << 20);
    EXPECT_EQ(parse_limit("8G", "x"), int64_t{8} << 30);
    EXPECT_EQ(parse_limit("1T", "x"), int64_t{1} << 40);
}

TEST(Limits, ParseRejectsJunkWithTheName) {
    for (const char* bad : {"", "0", "-5", "1.5G", "12X", "G", "8 G", "99999999999999999999", "9000000T"}) {
        try {
            (void)parse_limit(bad, "--max-pixels");
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << bad;
            EXPECT_NE(std::string(e.what()).find("--max-pixels"), std::string::npos) << e.what();
        }
    }
}

TEST(Limits, EnvironmentOverridesTheBase) {
    ::setenv("RV_MAX_PIXELS", "1M", 1);
    ::setenv("RV_MAX_TOKENS", "4096", 1);
    const Limits l = limits_from_env();
    ::unsetenv("RV_MAX_PIXELS");
    ::unsetenv("RV_MAX_TOKENS");
    EXPECT_EQ(l.max_pixels, int64_t{1} << 20);
    EXPECT_EQ(l.max_tokens, 4096);
    EXPECT_EQ(l.max_tensor_bytes, Limits{}.max_tensor_bytes);
    EXPECT_EQ(l.max_activation_bytes, Limits{}.max_activation_bytes);
}

TEST(Limits, MalformedEnvironmentNamesTheVariable) {
    ::setenv("RV_MAX_TENSOR_BYTES", "lots", 1);
    try {
        (void)limits_from_env();
        ADD_FAILURE() << "accepted RV_MAX_TENSOR_BYTES=lots";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("RV_MAX_TENSOR_BYTES"), std::string::npos) << e.what();
    }
    ::unsetenv("RV_MAX_TENSOR_BYTES");
}

TEST(Limits, SetLimitsRoundTripsAndRejectsNonPositive) {
    const Limits saved = limits();
    Limits l = saved;
    l.max_pixels = 100;
    set_limits(l);
    EXPECT_EQ(limits().max_pixels, 100);
    l.max_tokens = 0;
    EXPECT_THROW(set_limits(l), Error);
    EXPECT_EQ(limits().max_tokens, saved.max_tokens);  // a refused set changes nothing
    set_limits(saved);
    EXPECT_EQ(limits().max_pixels, saved.max_pixels);
}

}  // namespace
}  // namespace rv
