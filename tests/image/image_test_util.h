// Helpers shared by the vision/image tests: fixture paths, file bytes, pixel-exact comparison.
// Layer: tests. Fixtures come from tools/make_image_fixtures.py (Pillow 9.4, OpenCV 4.6, mmcls steps).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "vision/image/image.h"

namespace rv::image::test {

inline std::string fixture(const std::string& name) {
    return std::string(RV_SOURCE_DIR) + "/tests/fixtures/image/" + name;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A scratch directory for this test binary (removed by nobody: it lives in the build tree).
inline std::string scratch_dir() {
    const std::string dir = std::string(RV_BINARY_DIR) + "/test_image_scratch";
    std::filesystem::create_directories(dir);
    return dir;
}

// Exact equality, reporting the shape difference or the first differing sample and the count.
inline ::testing::AssertionResult images_equal(const Image8& got, const Image8& want) {
    if (got.width != want.width || got.height != want.height || got.channels != want.channels) {
        return ::testing::AssertionFailure()
               << "shape " << got.width << "x" << got.height << "x" << got.channels << " != expected "
               << want.width << "x" << want.height << "x" << want.channels;
    }
    if (got.pixels.size() != want.pixels.size())
        return ::testing::AssertionFailure() << "buffer sizes differ";
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) {
        if (got.pixels[i] != want.pixels[i] && bad++ == 0) first = i;
    }
    if (bad == 0) return ::testing::AssertionSuccess();
    const size_t cn = static_cast<size_t>(got.channels), w = static_cast<size_t>(got.width);
    return ::testing::AssertionFailure()
           << bad << " samples differ; first at (y=" << first / cn / w << ", x=" << (first / cn) % w
           << ", c=" << first % cn << "): " << int{got.pixels[first]} << " != expected "
           << int{want.pixels[first]};
}

}  // namespace rv::image::test
