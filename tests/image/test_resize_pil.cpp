// resize_pil against Pillow 9.4 Image.resize, to the last grey level (tolerance 0).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/image/image_test_util.h"
#include "vision/core/error.h"
#include "vision/image/resize_pil.h"

namespace rv::image {
namespace {

using test::fixture;
using test::images_equal;

Filter parse_filter(const std::string& s) {
    if (s == "bicubic") return Filter::kBicubic;
    if (s == "bilinear") return Filter::kBilinear;
    if (s == "nearest") return Filter::kNearest;
    ADD_FAILURE() << "unknown filter " << s;
    return Filter::kBicubic;
}

Image8 make_image(int w, int h, int c, uint8_t (*f)(int, int, int)) {
    Image8 img;
    img.width = w;
    img.height = h;
    img.channels = c;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) img.pixels.push_back(f(y, x, k));
    return img;
}

// Every case of tests/fixtures/image/resize_cases.txt: down 2.3x and 7x, up 1.7x, mixed
// down/up, 1xN and Nx1 inputs and outputs, 1x1; RGB and L; bicubic, bilinear, nearest.
TEST(ResizePil, MatchesPillowFixturesExactly) {
    std::ifstream manifest(fixture("resize_cases.txt"));
    ASSERT_TRUE(manifest.good()) << "missing " << fixture("resize_cases.txt");
    int cases = 0;
    std::string line;
    while (std::getline(manifest, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream is(line);
        std::string src, mode, filter, expected;
        int w = 0, h = 0;
        ASSERT_TRUE(static_cast<bool>(is >> src >> mode >> w >> h >> filter >> expected)) << line;
        const ColorMode cm = mode == "L" ? ColorMode::kGray : ColorMode::kRgb;
        const Image8 in = load_image(fixture(src), cm);
        const Image8 want = load_image(fixture(expected), cm);
        const Image8 got = resize_pil(in, w, h, parse_filter(filter));
        EXPECT_TRUE(images_equal(got, want)) << line;
        ++cases;
    }
    EXPECT_GE(cases, 51);  // the manifest must not silently shrink
}

TEST(ResizePil, SameSizeIsACopy) {
    const Image8 img =
        make_image(5, 4, 3, [](int y, int x, int c) { return static_cast<uint8_t>(y * 50 + x * 7 + c); });
    for (Filter f : {Filter::kBicubic, Filter::kBilinear, Filter::kNearest}) {
        EXPECT_TRUE(images_equal(resize_pil(img, 5, 4, f), img));
    }
}

TEST(ResizePil, ConstantImageStaysConstant) {
    // Normalised weights sum to 1 (to fixed-point rounding), so a flat image stays flat,
    // at the extremes of the range too (overshoot of bicubic must clip, not wrap).
    for (uint8_t v : {uint8_t{0}, uint8_t{1}, uint8_t{128}, uint8_t{254}, uint8_t{255}}) {
        Image8 img;
        img.width = 23;
        img.height = 9;
        img.channels = 1;
        img.pixels.assign(23 * 9, v);
        for (Filter f : {Filter::kBicubic, Filter::kBilinear, Filter::kNearest}) {
            for (auto [w, h] : {std::pair{1, 1}, {7, 3}, {40, 17}, {23, 100}, {300, 2}}) {
                const Image8 out = resize_pil(img, w, h, f);
                ASSERT_EQ(out.pixels.size(), static_cast<size_t>(w * h));
                for (uint8_t p : out.pixels) ASSERT_EQ(p, v) << w << "x" << h;
            }
        }
    }
}

TEST(ResizePil, HandComputedBilinearHalving) {
    // 2 -> 1 pixel: scale 2, support 2, taps at distance 0.25 with weight 0.75 each -> 1/2 and 1/2,
    // i.e. 2^21 in fixed point; (10 + 21) * 2^21 + 2^21 = 32 * 2^21, >> 22 = 16 (15.5 rounds up).
    Image8 img;
    img.width = 2;
    img.height = 1;
    img.channels = 1;
    img.pixels = {10, 21};
    EXPECT_EQ(resize_pil(img, 1, 1, Filter::kBilinear).pixels, std::vector<uint8_t>{16});
    EXPECT_EQ(resize_pil(img, 1, 1, Filter::kBicubic).pixels, std::vector<uint8_t>{16});
    EXPECT_EQ(resize_pil(img, 1, 1, Filter::kNearest).pixels, std::vector<uint8_t>{21});  // (int)(2 * 0.5)
}

TEST(ResizePil, OnePixelUpsamplesToConstant) {
    const Image8 img = make_image(1, 1, 3, [](int, int, int c) { return static_cast<uint8_t>(40 + c); });
    for (Filter f : {Filter::kBicubic, Filter::kBilinear, Filter::kNearest}) {
        const Image8 out = resize_pil(img, 9, 5, f);
        for (size_t i = 0; i < out.pixels.size(); ++i) ASSERT_EQ(out.pixels[i], 40 + i % 3);
    }
}

TEST(ResizePil, RejectsBadArguments) {
    const Image8 img = make_image(3, 3, 1, [](int, int, int) { return uint8_t{0}; });
    for (auto [w, h] : {std::pair{0, 3}, {3, 0}, {-1, 5}}) {
        try {
            resize_pil(img, w, h);
            ADD_FAILURE() << "no error for " << w << "x" << h;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
        }
    }
    Image8 empty;
    EXPECT_THROW(resize_pil(empty, 3, 3), Error);
    Image8 inconsistent = img;
    inconsistent.pixels.pop_back();
    EXPECT_THROW(resize_pil(inconsistent, 3, 3), Error);
    try {
        resize_pil(img, 1 << 15, 1 << 15);
        ADD_FAILURE() << "no error for a 2^30-pixel output";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kLimit);
    }
}

}  // namespace
}  // namespace rv::image
