// load_image / decode_image / save_png: colour conversion against PIL, EXIF orientation, 16-bit
// and alpha against cv2.IMREAD_COLOR (what mmcls sees), and every failure an rv::Error.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/image/image_test_util.h"
#include "vision/core/error.h"
#include "vision/image/color.h"
#include "vision/image/image.h"
#include "vision/image/image_header.h"

namespace rv::image {
namespace {

using test::fixture;
using test::images_equal;
using test::read_bytes;

// Runs f, which must throw rv::Error with `code` and a message naming `name`.
template <typename F>
void expect_error(F&& f, ErrorCode code, const std::string& name) {
    try {
        f();
        ADD_FAILURE() << "no error for " << name;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
}

TEST(ImageColor, PilLumaFormula) {
    // L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16, checked against Pillow over all 2^24 colours
    // when the formula was chosen; spot values here.
    EXPECT_EQ(pil_luma(0, 0, 0), 0);
    EXPECT_EQ(pil_luma(255, 255, 255), 255);
    EXPECT_EQ(pil_luma(255, 0, 0), 76);
    EXPECT_EQ(pil_luma(0, 255, 0), 150);
    EXPECT_EQ(pil_luma(0, 0, 255), 29);
    EXPECT_EQ(pil_luma(1, 1, 1), 1);
}

TEST(ImageLoad, GrayMatchesPilConvertL) {
    const Image8 gray = load_image(fixture("luma_src.png"), ColorMode::kGray);
    EXPECT_EQ(gray.channels, 1);
    EXPECT_TRUE(images_equal(gray, load_image(fixture("luma_expected.png"), ColorMode::kGray)));
    // The same conversion from an already decoded RGB image.
    const Image8 rgb = load_image(fixture("luma_src.png"), ColorMode::kRgb);
    EXPECT_TRUE(images_equal(convert_color(rgb, ColorMode::kGray), gray));
}

TEST(ImageLoad, GrayFileAsRgbReplicates) {
    const Image8 gray = load_image(fixture("gray_src.png"), ColorMode::kGray);
    const Image8 rgb = load_image(fixture("gray_src.png"), ColorMode::kRgb);
    ASSERT_EQ(rgb.channels, 3);
    ASSERT_EQ(rgb.pixels.size(), gray.pixels.size() * 3);
    for (size_t i = 0; i < gray.pixels.size(); ++i) {
        ASSERT_EQ(rgb.pixels[3 * i], gray.pixels[i]);
        ASSERT_EQ(rgb.pixels[3 * i + 1], gray.pixels[i]);
        ASSERT_EQ(rgb.pixels[3 * i + 2], gray.pixels[i]);
    }
    EXPECT_TRUE(images_equal(convert_color(gray, ColorMode::kRgb), rgb));
}

TEST(ImageLoad, RgbOrderIsRgb) {
    // rgb_src.png was written by PIL from an RGB array; its first pixel read back by PIL:
    const Image8 img = load_image(fixture("rgb_src.png"), ColorMode::kRgb);
    EXPECT_EQ(img.width, 40);
    EXPECT_EQ(img.height, 30);
    const Image8 png_as_written = load_image(fixture("resize_rgb_1x1_nearest.png"), ColorMode::kRgb);
    // NEAREST 40x30 -> 1x1 picks source (20, 15): channel order must survive load -> resize -> compare.
    EXPECT_EQ(png_as_written.pixels[0], img.at(15, 20, 0));
    EXPECT_EQ(png_as_written.pixels[2], img.at(15, 20, 2));
}

TEST(ImageLoad, ExifOrientationIsAppliedLikeCv2ImreadColor) {
    for (int o = 1; o <= 8; ++o) {
        const std::string name = "exif" + std::to_string(o);
        const Image8 got = load_image(fixture(name + ".jpg"), ColorMode::kRgb);
        EXPECT_TRUE(images_equal(got, load_image(fixture(name + "_expected.png"), ColorMode::kRgb))) << name;
        // The source is 16x12; orientations 5-8 transpose it.
        EXPECT_EQ(got.width, o >= 5 ? 12 : 16) << name;
    }
}

TEST(ImageLoad, SixteenBitKeepsHighByte) {
    for (const char* name : {"rgb16", "gray16"}) {
        const Image8 want = load_image(fixture(std::string(name) + "_expected.png"), ColorMode::kRgb);
        EXPECT_TRUE(images_equal(load_image(fixture(std::string(name) + ".png"), ColorMode::kRgb), want))
            << name;
    }
    // gray16 as gray: the high byte, not PIL's clip-to-255 of 16-bit 'I' images.
    const Image8 g = load_image(fixture("gray16.png"), ColorMode::kGray);
    const Image8 want = load_image(fixture("gray16_expected.png"), ColorMode::kGray);
    EXPECT_TRUE(images_equal(g, want));
}

TEST(ImageLoad, AlphaAndPaletteLikePilConvertRgb) {
    for (const char* name : {"rgba", "la", "palette"}) {
        const Image8 want = load_image(fixture(std::string(name) + "_expected.png"), ColorMode::kRgb);
        EXPECT_TRUE(images_equal(load_image(fixture(std::string(name) + ".png"), ColorMode::kRgb), want))
            << name;
    }
}

TEST(ImageLoad, DecodeFromMemoryEqualsLoad) {
    const std::string path = fixture("exif6.jpg");
    EXPECT_TRUE(images_equal(decode_image(read_bytes(path), ColorMode::kRgb, "mem"),
                             load_image(path, ColorMode::kRgb)));
}

TEST(ImageSave, PngRoundTrip) {
    const std::string dir = test::scratch_dir();
    for (ColorMode mode : {ColorMode::kRgb, ColorMode::kGray}) {
        const Image8 img = load_image(fixture("rgb_src.png"), mode);
        const std::string out =
            dir + (mode == ColorMode::kRgb ? "/roundtrip_rgb.png" : "/roundtrip_gray.png");
        save_png(out, img);
        EXPECT_TRUE(images_equal(load_image(out, mode), img));
    }
    Image8 bad;
    bad.width = 2;
    bad.height = 2;
    bad.channels = 3;
    EXPECT_THROW(save_png(dir + "/bad.png", bad), Error);
    expect_error(
        [&] { save_png(dir + "/no/such/dir/x.png", load_image(fixture("rgb_src.png"), ColorMode::kRgb)); },
        ErrorCode::kIo, "no/such/dir");
}

// --- failures -------------------------------------------------------------------------------

TEST(ImageErrors, MissingFileIsNotFound) {
    const std::string path = fixture("does_not_exist.png");
    expect_error([&] { load_image(path, ColorMode::kRgb); }, ErrorCode::kNotFound, path);
}

TEST(ImageErrors, DirectoryIsInvalidArgument) {
    const std::string path = fixture("");
    expect_error([&] { load_image(path, ColorMode::kRgb); }, ErrorCode::kInvalidArgument, path);
}

TEST(ImageErrors, EmptyFileIsCorrupt) {
    const std::string path = test::scratch_dir() + "/empty.png";
    test::write_bytes(path, {});
    expect_error([&] { load_image(path, ColorMode::kRgb); }, ErrorCode::kCorruptFile, path);
}

TEST(ImageErrors, GarbageIsCorrupt) {
    std::vector<uint8_t> garbage(4096);
    std::mt19937 rng(42);
    for (auto& b : garbage) b = static_cast<uint8_t>(rng());
    expect_error([&] { decode_image(garbage, ColorMode::kRgb, "garbage.bin"); }, ErrorCode::kCorruptFile,
                 "garbage.bin");
    const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
    expect_error([&] { decode_image(text, ColorMode::kGray, "hello.txt"); }, ErrorCode::kCorruptFile,
                 "hello.txt");
}

TEST(ImageErrors, TruncatedPngIsCorrupt) {
    const std::vector<uint8_t> full = read_bytes(fixture("rgb_src.png"));
    for (size_t n : {size_t{1}, size_t{8}, size_t{20}, size_t{33}, full.size() / 2, full.size() - 13}) {
        const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        expect_error([&] { decode_image(cut, ColorMode::kRgb, "cut.png"); }, ErrorCode::kCorruptFile,
                     "cut.png");
    }
}

TEST(ImageErrors, TruncatedJpegNeverCrashes) {
    // libjpeg fills missing rows and OpenCV reports success (as in mmcls); a cut inside the
    // headers is an error. Either way: a result or an rv::Error.
    const std::vector<uint8_t> full = read_bytes(fixture("exif1.jpg"));
    for (size_t n = 1; n < full.size(); n += 37) {
        const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        try {
            const Image8 img = decode_image(cut, ColorMode::kRgb, "cut.jpg");
            EXPECT_EQ(img.width, 16);
            EXPECT_EQ(img.height, 12);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kCorruptFile) << e.what();
        }
    }
}

TEST(ImageErrors, CorruptedBytesNeverCrash) {
    // Random byte flips in real files: decode or rv::Error, never a crash (run under ASan/UBSan).
    std::mt19937 rng(7);
    for (const char* name : {"rgb_src.png", "exif3.jpg", "palette.png", "rgb16.png"}) {
        const std::vector<uint8_t> orig = read_bytes(fixture(name));
        for (int iter = 0; iter < 40; ++iter) {
            std::vector<uint8_t> bytes = orig;
            const int flips = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
            try {
                const Image8 img = decode_image(bytes, ColorMode::kRgb, name, int64_t{1} << 20);
                EXPECT_EQ(img.pixels.size(),
                          static_cast<size_t>(img.width) * static_cast<size_t>(img.height) * 3);
            } catch (const Error&) {
            }
        }
    }
}

// PNG whose IHDR declares width x height; the rest of the file is never reached.
std::vector<uint8_t> png_declaring(uint32_t width, uint32_t height) {
    std::vector<uint8_t> bytes = read_bytes(fixture("rgb_src.png"));
    for (int i = 0; i < 4; ++i) {
        bytes[16 + static_cast<size_t>(i)] = static_cast<uint8_t>(width >> (24 - 8 * i));
        bytes[20 + static_cast<size_t>(i)] = static_cast<uint8_t>(height >> (24 - 8 * i));
    }
    return bytes;
}

TEST(ImageErrors, HugeDeclaredSizeIsRefusedBeforeDecoding) {
    expect_error([&] { decode_image(png_declaring(100000, 100000), ColorMode::kRgb, "huge.png"); },
                 ErrorCode::kLimit, "huge.png");
    expect_error([&] { decode_image(png_declaring(0x7fffffff, 0x7fffffff), ColorMode::kRgb, "huge2.png"); },
                 ErrorCode::kLimit, "huge2.png");
    // JPEG: patch the SOF height/width.
    std::vector<uint8_t> jpg = read_bytes(fixture("exif1.jpg"));
    size_t sof = 0;
    for (size_t i = 2; i + 8 < jpg.size(); ++i) {
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            sof = i;
            break;
        }
    }
    ASSERT_NE(sof, 0u);
    for (size_t k : {size_t{5}, size_t{6}, size_t{7}, size_t{8}}) jpg[sof + k] = 0xFF;  // 65535 x 65535
    expect_error([&] { decode_image(jpg, ColorMode::kRgb, "huge.jpg"); }, ErrorCode::kLimit, "huge.jpg");
}

TEST(ImageErrors, MaxPixelsAppliesToRealImages) {
    const std::string path = fixture("rgb_src.png");  // 40 x 30 = 1200 pixels
    EXPECT_NO_THROW(load_image(path, ColorMode::kRgb, 1200));
    expect_error([&] { load_image(path, ColorMode::kRgb, 1199); }, ErrorCode::kLimit, path);
    expect_error([&] { load_image(fixture("exif6.jpg"), ColorMode::kRgb, 100); }, ErrorCode::kLimit,
                 "exif6.jpg");
}

// --- header peeking --------------------------------------------------------------------------

TEST(ImageHeader, ReadsDeclaredSizes) {
    auto peek = [](const std::vector<uint8_t>& b) { return peek_image_header(b.data(), b.size()); };
    auto png = peek(read_bytes(fixture("rgb_src.png")));
    ASSERT_TRUE(png.has_value());
    EXPECT_EQ(png->format, "png");
    EXPECT_EQ(png->width, 40);
    EXPECT_EQ(png->height, 30);

    auto jpg = peek(read_bytes(fixture("exif6.jpg")));  // the stored (unrotated) size
    ASSERT_TRUE(jpg.has_value());
    EXPECT_EQ(jpg->format, "jpeg");
    EXPECT_EQ(jpg->width, 16);
    EXPECT_EQ(jpg->height, 12);

    std::vector<uint8_t> bmp(54, 0);
    bmp[0] = 'B';
    bmp[1] = 'M';
    bmp[14] = 40;    // BITMAPINFOHEADER
    bmp[18] = 0x10;  // width 0x0110 = 272
    bmp[19] = 0x01;
    bmp[22] = 0xFE;  // height -2 (top-down)
    for (int i = 23; i < 26; ++i) bmp[static_cast<size_t>(i)] = 0xFF;
    auto b = peek(bmp);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->width, 272);
    EXPECT_EQ(b->height, 2);

    const std::string pgm = "P5\n# comment\n 640   480\n255\n";
    auto p = peek(std::vector<uint8_t>(pgm.begin(), pgm.end()));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->width, 640);
    EXPECT_EQ(p->height, 480);

    // WebP VP8X: canvas (1000 x 3) stored minus one, 24-bit little-endian.
    std::vector<uint8_t> webp(30, 0);
    std::memcpy(webp.data(), "RIFF", 4);
    std::memcpy(webp.data() + 8, "WEBPVP8X", 8);
    webp[24] = 0xE7;  // 999
    webp[25] = 0x03;
    webp[27] = 2;
    auto w = peek(webp);
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->width, 1000);
    EXPECT_EQ(w->height, 3);

    // Little-endian TIFF with ImageWidth (SHORT) = 300, ImageLength (LONG) = 70000.
    std::vector<uint8_t> tif = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0, 0, 1, 3, 0,    1,    0, 0,
                                0,   44,  1,  0, 0, 1, 1, 4, 0, 1, 0, 0, 0, 0x70, 0x11, 1, 0};
    auto t = peek(tif);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->width, 300);
    EXPECT_EQ(t->height, 70000);
}

TEST(ImageHeader, ShortOrUnknownInputIsNotAnError) {
    const std::vector<uint8_t> bytes = read_bytes(fixture("rgb_src.png"));
    for (size_t n = 0; n < 64; ++n) {
        auto h = peek_image_header(bytes.data(), n);
        if (n < 24) {
            EXPECT_FALSE(h.has_value()) << n;
        }
    }
    EXPECT_FALSE(peek_image_header(nullptr, 0).has_value());
    const std::string text = "GIF89a....";
    EXPECT_FALSE(peek_image_header(reinterpret_cast<const uint8_t*>(text.data()), text.size()).has_value());
    const std::string p = "P6 12";  // cut inside the size
    EXPECT_FALSE(peek_image_header(reinterpret_cast<const uint8_t*>(p.data()), p.size()).has_value());
}

}  // namespace
}  // namespace rv::image
