// preprocess / resize_and_crop against the mmcls evaluation pipeline (fixtures made by
// tools/make_image_fixtures.py with cv2 + PIL, as mmcls v0.25.0 / mmcv 1.7.0 run it).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/image/image_test_util.h"
#include "vision/core/error.h"
#include "vision/image/preprocess.h"

namespace rv::image {
namespace {

using test::fixture;
using test::images_equal;

// Image whose pixel (y, x) holds x in channel 0 and y in channel 1 (mod 256): crops are legible.
Image8 coordinate_image(int w, int h) {
    Image8 img;
    img.width = w;
    img.height = h;
    img.channels = 3;
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            img.pixels.push_back(static_cast<uint8_t>(x));
            img.pixels.push_back(static_cast<uint8_t>(y));
            img.pixels.push_back(7);
        }
    }
    return img;
}

TEST(Preprocess, MatchesMmclsPipeline) {
    std::ifstream in(fixture("preprocess_cases.json"));
    ASSERT_TRUE(in.good());
    const nlohmann::json cases = nlohmann::json::parse(in);
    ASSERT_EQ(cases.size(), 4u);
    for (const auto& [name, c] : cases.items()) {
        SCOPED_TRACE(name);
        PreprocessConfig cfg;
        cfg.input_size = c["input_size"].get<int>();
        cfg.crop_pct = c["crop_pct"].get<double>();
        cfg.color = c["gray"].get<bool>() ? ColorMode::kGray : ColorMode::kRgb;
        cfg.mean = c["mean"].get<std::vector<float>>();
        cfg.std = c["std"].get<std::vector<float>>();
        const Image8 img = load_image(fixture(c["source"].get<std::string>()), cfg.color);
        const Tensor t = preprocess(img, cfg);
        ASSERT_EQ(t.shape(), c["shape"].get<Shape>());

        const std::vector<uint8_t> raw = test::read_bytes(fixture(name + ".bin"));
        const size_t count = c["count"].get<size_t>(), stride = c["stride"].get<size_t>();
        ASSERT_EQ(raw.size(), count * 4);
        double max_err = 0.0;
        int64_t worst = -1;
        for (size_t i = 0; i < count; ++i) {
            float want;
            std::memcpy(&want, raw.data() + 4 * i, 4);  // little-endian host (x86-64)
            const double err = std::fabs(static_cast<double>(t[static_cast<int64_t>(i * stride)]) -
                                         static_cast<double>(want));
            if (err > max_err) {
                max_err = err;
                worst = static_cast<int64_t>(i * stride);
            }
        }
        EXPECT_LE(max_err, 1e-6) << "worst flat index " << worst;
        double sum = 0.0;
        for (int64_t i = 0; i < t.numel(); ++i) sum += static_cast<double>(t[i]);
        EXPECT_NEAR(sum, c["sum"].get<double>(), 1e-3);
    }
}

TEST(Preprocess, RoundHalfEvenLikePython) {
    EXPECT_EQ(round_half_even(0.5), 0);
    EXPECT_EQ(round_half_even(1.5), 2);
    EXPECT_EQ(round_half_even(2.5), 2);
    EXPECT_EQ(round_half_even(6.5), 6);
    EXPECT_EQ(round_half_even(7.5), 8);
    EXPECT_EQ(round_half_even(58.5), 58);
    EXPECT_EQ(round_half_even(-0.5), 0);
    EXPECT_EQ(round_half_even(-1.5), -2);
    EXPECT_EQ(round_half_even(-2.5), -2);
    EXPECT_EQ(round_half_even(2.4999999), 2);
    EXPECT_EQ(round_half_even(2.5000001), 3);
    EXPECT_EQ(round_half_even(-7.0), -7);
    EXPECT_THROW(round_half_even(std::nan("")), Error);
}

TEST(Preprocess, CenterCropOffsetsRoundHalfToEven) {
    // crop_pct 1 and min side == input_size: no resize, only the crop (mmcls skips Resize then).
    PreprocessConfig cfg;
    cfg.input_size = 24;
    cfg.crop_pct = 1.0;
    struct Case {
        int w, h, x1, y1;
    };
    for (const Case& k : {Case{37, 24, 6, 0},  // (37-24)/2 = 6.5 -> 6
                          Case{39, 24, 8, 0},  // 7.5 -> 8
                          Case{24, 27, 0, 2},  // 1.5 -> 2
                          Case{24, 29, 0, 2},  // 2.5 -> 2
                          Case{24, 24, 0, 0}}) {
        const Image8 out = resize_and_crop(coordinate_image(k.w, k.h), cfg);
        ASSERT_EQ(out.width, 24);
        ASSERT_EQ(out.height, 24);
        EXPECT_EQ(out.at(0, 0, 0), k.x1) << k.w << "x" << k.h;
        EXPECT_EQ(out.at(0, 0, 1), k.y1) << k.w << "x" << k.h;
        EXPECT_EQ(out.at(23, 23, 0), k.x1 + 23);
    }
}

TEST(Preprocess, ResizeSizesFollowMmcls) {
    PreprocessConfig cfg;  // 224 / 0.875 -> short side 256
    // 640x480: height 256, width int(256 * 640 / 480) = int(341.33) = 341; crop x1 = round(58.5) = 58.
    Image8 img = coordinate_image(640, 480);
    EXPECT_EQ(preprocess(img, cfg).shape(), (Shape{3, 224, 224}));
    // Portrait 300x700: width 256, height int(256 * 700 / 300) = int(597.33) = 597.
    cfg.input_size = 256;
    cfg.crop_pct = 1.0;
    cfg.filter = Filter::kNearest;
    const Image8 tall = resize_and_crop(coordinate_image(300, 700), cfg);
    EXPECT_EQ(tall.width, 256);
    EXPECT_EQ(tall.height, 256);
    // 384 / 1.0: VRWKV-L style.
    cfg.input_size = 384;
    EXPECT_EQ(preprocess(coordinate_image(500, 400), cfg).shape(), (Shape{3, 384, 384}));
    // floor(input_size / crop_pct): 224 / 0.9 = 248.9 -> 248 short side; crop 224.
    cfg.input_size = 224;
    cfg.crop_pct = 0.9;
    cfg.filter = Filter::kBicubic;
    cfg.resize = true;
    PreprocessConfig no_crop = cfg;
    no_crop.input_size = 248;  // crop as large as the resize target: shows the resized size
    no_crop.crop_pct = 1.0;
    const Image8 r = resize_and_crop(coordinate_image(300, 200), no_crop);
    EXPECT_EQ(r.height, 248);
    EXPECT_EQ(r.width, 248);  // cropped to 248 from int(248 * 300 / 200) = 372
}

TEST(Preprocess, ImageSmallerThanCropKeepsItsSize) {
    // crop_pct 2: short side -> 16, crop 32 cannot fit; mmcls keeps min(size, crop) per axis.
    PreprocessConfig cfg;
    cfg.input_size = 32;
    cfg.crop_pct = 2.0;
    const Image8 out = resize_and_crop(coordinate_image(80, 40), cfg);
    EXPECT_EQ(out.height, 16);
    EXPECT_EQ(out.width, 32);  // 32 wide, 16 high: width int(16 * 80 / 40) = 32, x1 = 0
}

TEST(Preprocess, NoResizeOnlyNormalises) {
    PreprocessConfig cfg;
    cfg.resize = false;
    const Image8 img = coordinate_image(19, 7);
    const Tensor t = preprocess(img, cfg);
    ASSERT_EQ(t.shape(), (Shape{3, 7, 19}));
    // Channel 1 at (y=3, x=5) holds 3: (3 - 116.28) * (1 / 57.12), float32 subtract, double multiply.
    const float centred = 3.0f - 116.28f;
    const float want = static_cast<float>(static_cast<double>(centred) * (1.0 / static_cast<double>(57.12f)));
    EXPECT_EQ(t[1 * 7 * 19 + 3 * 19 + 5], want);
    EXPECT_NEAR(t[0], (0.0 - 123.675) / 58.395, 1e-6);
    EXPECT_TRUE(images_equal(resize_and_crop(img, cfg), img));
}

TEST(Preprocess, GrayMode) {
    PreprocessConfig cfg;
    cfg.color = ColorMode::kGray;
    cfg.mean = {127.5f};
    cfg.std = {64.0f};
    cfg.input_size = 16;
    const Tensor t = preprocess(coordinate_image(40, 30), cfg);  // RGB input converted with PIL's luma
    EXPECT_EQ(t.shape(), (Shape{1, 16, 16}));
    cfg.mean = {1.f, 2.f, 3.f};
    try {
        preprocess(coordinate_image(40, 30), cfg);
        ADD_FAILURE() << "3 means accepted for a gray image";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
}

TEST(Preprocess, RejectsBadConfig) {
    const Image8 img = coordinate_image(30, 30);
    for (auto [size, pct] :
         {std::pair{0, 0.875}, {-5, 0.875}, {224, 0.0}, {224, -1.0}, {224, std::nan("")}}) {
        PreprocessConfig cfg;
        cfg.input_size = size;
        cfg.crop_pct = pct;
        try {
            preprocess(img, cfg);
            ADD_FAILURE() << "accepted input_size " << size << " crop_pct " << pct;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
        }
    }
    PreprocessConfig cfg;
    cfg.std = {1.f, 0.f, 1.f};
    EXPECT_THROW(preprocess(img, cfg), Error);
    EXPECT_THROW(preprocess(Image8{}, PreprocessConfig{}), Error);
}

}  // namespace
}  // namespace rv::image
