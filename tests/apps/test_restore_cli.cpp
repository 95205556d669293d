// `rwkv-vision restore` as a user runs it: a folder in gives a folder out with the same relative
// names (bad files reported, exit 3), a single file to a named file equal to the library's result,
// 16-bit and alpha kept, ×2 super-resolution, tiles, and usage errors (exit 2) / fatal errors (1).
// Models: the random-weight fixtures of tools/make_restore_fixtures.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "heads/restorer.h"
#include "tests/apps/cli_runner.h"
#include "tests/support/parity.h"
#include "vision/image/image_float.h"

namespace rv::test {
namespace {
namespace fs = std::filesystem;

image::ImageF make_image(int h, int w, int channels, int depth, bool alpha) {
    image::ImageF img;
    img.height = h;
    img.width = w;
    img.channels = channels;
    img.bit_depth = depth;
    for (int i = 0; i < h * w * channels; ++i)
        img.pixels.push_back(static_cast<float>((i * 37) % 101) / 100.0f);
    if (alpha)
        for (int i = 0; i < h * w; ++i) img.alpha.push_back(static_cast<float>(i % 5) / 4.0f);
    return img;
}

const std::string kModel = "tests/fixtures/restore/rgb_odd.safetensors";

TEST(RestoreCli, FolderInFolderOutWithBadFile) {
    const std::string dir = make_temp_dir("restore_folder");
    const fs::path in = fs::path(dir) / "in", out = fs::path(dir) / "out";
    fs::create_directories(in / "sub");
    image::save_image_float((in / "a.png").string(), make_image(21, 30, 3, 8, false), 8);
    image::save_image_float((in / "sub" / "b16.png").string(), make_image(17, 12, 1, 16, false), 16);
    image::save_image_float((in / "rgba.png").string(), make_image(16, 16, 3, 8, true), 8);
    std::ofstream(in / "broken.png") << "not a png";
    const auto r = run_cli({"restore", "-q", "-i", in.string(), "-o", out.string(), "-m", kModel});
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.err.find("broken.png"), std::string::npos) << r.err;
    ASSERT_TRUE(fs::exists(out / "a.png"));
    ASSERT_TRUE(fs::exists(out / "sub" / "b16.png"));
    ASSERT_TRUE(fs::exists(out / "rgba.png"));
    EXPECT_FALSE(fs::exists(out / "broken.png"));
    const auto b16 = image::load_image_float((out / "sub" / "b16.png").string());
    EXPECT_EQ(b16.bit_depth, 16);
    EXPECT_EQ(b16.channels, 1);
    EXPECT_EQ(b16.height, 17);
    EXPECT_EQ(b16.width, 12);
    const auto rgba = image::load_image_float((out / "rgba.png").string());
    ASSERT_TRUE(rgba.has_alpha());
    const auto src = image::load_image_float((in / "rgba.png").string());
    EXPECT_EQ(rgba.alpha, src.alpha);
    // -f changes the extension; every good file again (outputs are new names)
    const auto r2 =
        run_cli({"restore", "-q", "-i", in.string(), "-o", out.string(), "-m", kModel, "-f", "jpg"});
    EXPECT_EQ(r2.status, 3) << r2.err;
    EXPECT_TRUE(fs::exists(out / "sub" / "b16.jpg"));
    fs::remove_all(dir);
}

TEST(RestoreCli, SingleFileEqualsLibraryAndTilesRun) {
    const std::string dir = make_temp_dir("restore_file");
    const std::string in = dir + "/x.png", out = dir + "/y.png", tiled = dir + "/t.png";
    image::save_image_float(in, make_image(29, 35, 3, 8, false), 8);
    auto r = run_cli({"restore", "-q", "-i", in, "-o", out, "-m", kModel, "--task", "denoise", "-t", "0"});
    ASSERT_EQ(r.status, 0) << r.err;
    const heads::Restorer model = heads::Restorer::load(kModel);
    heads::TileOptions whole;
    whole.tile = 0;
    const auto expected = model.restore(image::load_image_float(in), whole);
    const auto got = image::load_image_float(out);
    ASSERT_EQ(got.pixels.size(), expected.pixels.size());
    double worst = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) {
        const double e = std::clamp(static_cast<double>(expected.pixels[i]), 0.0, 1.0);
        worst = std::max(worst, std::fabs(static_cast<double>(got.pixels[i]) - e));
    }
    EXPECT_LE(worst, 0.5 / 255.0 + 1e-6);  // rounding to 8 bits only
    r = run_cli({"restore", "-q", "-i", in, "-o", tiled, "-m", kModel, "-t", "16", "--tile-pad", "4"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(image::load_image_float(tiled).width, 35);
    fs::remove_all(dir);
}

TEST(RestoreCli, SuperResolutionDoublesTheSize) {
    const std::string dir = make_temp_dir("restore_sr");
    const std::string in = dir + "/lr.png", out = dir + "/hr.png";
    image::save_image_float(in, make_image(13, 10, 3, 8, false), 8);
    const auto r = run_cli({"restore", "-q", "-i", in, "-o", out, "-m",
                            "tests/fixtures/restore/sr2.safetensors", "--task", "sr", "-s", "2"});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto hr = image::load_image_float(out);
    EXPECT_EQ(hr.height, 26);
    EXPECT_EQ(hr.width, 20);
    fs::remove_all(dir);
}

TEST(RestoreCli, UsageAndFatalErrors) {
    const std::string dir = make_temp_dir("restore_err");
    const std::string in = dir + "/x.png";
    image::save_image_float(in, make_image(8, 8, 3, 8, false), 8);
    auto st = [&](std::vector<std::string> extra) {
        std::vector<std::string> a = {"restore", "-q", "-i", in, "-o", dir + "/o.png"};
        a.insert(a.end(), extra.begin(), extra.end());
        return run_cli(a).status;
    };
    EXPECT_EQ(st({"-m", kModel, "-f", "gif"}), 2);
    EXPECT_EQ(st({"-m", kModel, "--task", "sr"}), 2);  // not an SR model
    EXPECT_EQ(st({"-m", kModel, "-s", "2"}), 2);       // scale mismatch
    EXPECT_EQ(st({"-m", kModel, "--max-memory", "lots"}), 2);
    EXPECT_EQ(st({"-m", kModel, "-t", "-3"}), 2);
    EXPECT_EQ(st({}), 2);  // -m missing
    EXPECT_EQ(st({"-m", dir + "/missing.safetensors"}), 1);
    EXPECT_EQ(run_cli({"restore", "-q", "-i", dir + "/nope", "-o", dir + "/o", "-m", kModel}).status, 1);
    EXPECT_FALSE(fs::exists(dir + "/o.png"));
    fs::remove_all(dir);
}

}  // namespace
}  // namespace rv::test
