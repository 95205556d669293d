// Image loading under the process-wide limits (vision/core/limits.h) and the format whitelist.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/image/image_test_util.h"
#include "vision/core/error.h"
#include "vision/core/limits.h"
#include "vision/image/image.h"

namespace rv::image {
namespace {

namespace fs = std::filesystem;

size_t tmp_opencv_files() {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
        if (e.path().filename().string().rfind("__opencv_temp", 0) == 0) ++n;
    return n;
}

TEST(ImageLimits, DefaultMaxPixelsFollowsTheProcessLimit) {
    const auto png = test::read_bytes(test::fixture("gray_src.png"));
    const Image8 img = decode_image(png, ColorMode::kGray, "gray_src.png");
    const Limits saved = limits();
    Limits l = saved;
    l.max_pixels = static_cast<int64_t>(img.width) * img.height - 1;
    set_limits(l);
    try {
        (void)decode_image(png, ColorMode::kGray, "gray_src.png");
        ADD_FAILURE() << "the lowered pixel limit was not applied";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kLimit);
    }
    set_limits(saved);
    EXPECT_NO_THROW((void)decode_image(png, ColorMode::kGray, "gray_src.png"));
}

TEST(ImageLimits, FormatsOutsideTheWhitelistNeverReachOpenCv) {
    // A Radiance HDR header: OpenCV would copy it to /tmp and try its RGBE decoder.
    const std::string hdr = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n";
    const std::vector<uint8_t> bytes(hdr.begin(), hdr.end());
    const size_t before = tmp_opencv_files();
    try {
        (void)decode_image(bytes, ColorMode::kRgb, "x.hdr");
        ADD_FAILURE() << "an HDR file was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kCorruptFile);
        EXPECT_NE(std::string(e.what()).find("x.hdr"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a PNG, JPEG"), std::string::npos) << e.what();
    }
    EXPECT_EQ(tmp_opencv_files(), before);
}

}  // namespace
}  // namespace rv::image
