// Replays the committed, minimised fuzz corpora (tests/fuzz/corpus/<harness>/) and the
// regression inputs (tests/fuzz/regressions/<harness>/) through the same entry points the
// libFuzzer harnesses call: every file must give success or a clean rv::Error; anything else (a
// foreign exception, a sanitizer report in the ASan build) fails. Needs no clang.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_entry.h"

namespace rv::fuzz {
namespace {

namespace fs = std::filesystem;
using Entry = std::function<bool(const uint8_t*, size_t)>;

std::vector<uint8_t> read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs every file of the harness's corpus and regression folders; returns how many there were.
size_t replay(const std::string& harness, const Entry& entry) {
    size_t files = 0;
    for (const char* kind : {"corpus", "regressions"}) {
        const fs::path dir = fs::path(RV_SOURCE_DIR) / "tests" / "fuzz" / kind / harness;
        if (!fs::is_directory(dir)) continue;
        for (const auto& item : fs::directory_iterator(dir)) {
            if (!item.is_regular_file()) continue;
            const auto bytes = read_all(item.path());
            SCOPED_TRACE(item.path().string());
            EXPECT_NO_THROW((void)entry(bytes.data(), bytes.size()));
            ++files;
        }
    }
    return files;
}

TEST(FuzzReplay, Pth) { EXPECT_GT(replay("pth", run_pth), 10u); }
TEST(FuzzReplay, Safetensors) { EXPECT_GT(replay("safetensors", run_safetensors), 10u); }
TEST(FuzzReplay, Config) { EXPECT_GT(replay("config", run_config), 10u); }
TEST(FuzzReplay, Image) { EXPECT_GT(replay("image", run_image), 10u); }
TEST(FuzzReplay, Nifti) { EXPECT_GT(replay("nifti", run_nifti), 10u); }

// The entry points themselves: a known-good seed is accepted, garbage is a clean rejection.
TEST(FuzzReplay, EntryPointsAcceptGoodAndRejectGarbage) {
    const auto pth = read_all(fs::path(RV_SOURCE_DIR) / "tests/fixtures/weights/bare.pth");
    EXPECT_TRUE(run_pth(pth.data(), pth.size()));
    const auto cfg = read_all(fs::path(RV_SOURCE_DIR) / "tests/fixtures/models/tiny_pre.json");
    EXPECT_TRUE(run_config(cfg.data(), cfg.size()));
    const auto png = read_all(fs::path(RV_SOURCE_DIR) / "tests/fixtures/cli/smarties_33x33.png");
    EXPECT_TRUE(run_image(png.data(), png.size()));
    const std::vector<uint8_t> garbage = {'P', 'K', 3, 4, 0xff, 0xff, 0, 1, 2};
    EXPECT_FALSE(run_pth(garbage.data(), garbage.size()));
    EXPECT_FALSE(run_safetensors(garbage.data(), garbage.size()));
    EXPECT_FALSE(run_config(garbage.data(), garbage.size()));
    EXPECT_FALSE(run_image(garbage.data(), garbage.size()));
}

}  // namespace
}  // namespace rv::fuzz
