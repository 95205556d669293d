// Float image IO with bit depth and alpha kept (restoration). Layer: vision/image.
#include "vision/image/image_float.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "vision/core/error.h"
#include "vision/image/image_header.h"

namespace rv::image {
namespace fs = std::filesystem;
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::error_code ec;
    RV_CHECK(fs::exists(path, ec), ErrorCode::kNotFound, "image file '", path, "' does not exist");
    RV_CHECK(!fs::is_directory(path, ec), ErrorCode::kInvalidArgument, "image path '", path,
             "' is a directory, not an image file");
    std::ifstream in(path, std::ios::binary);
    RV_CHECK(in.good(), ErrorCode::kIo, "cannot open image file '", path, "'");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    RV_CHECK(!bytes.empty(), ErrorCode::kCorruptFile, "image '", path, "' is empty (0 bytes)");
    RV_CHECK(bytes.size() <= static_cast<size_t>(INT32_MAX), ErrorCode::kLimit, "image '", path,
             "' is larger than 2 GiB");
    return bytes;
}

void check_size(int64_t w, int64_t h, int64_t max_pixels, const std::string& name) {
    RV_CHECK(w > 0 && h > 0, ErrorCode::kCorruptFile, "image '", name, "' declares an empty size ", w, "x",
             h);
    RV_CHECK(w <= max_pixels / h, ErrorCode::kLimit, "image '", name, "' is ", w, "x", h,
             " pixels, more than the limit of ", max_pixels, " pixels");
}

std::string lower_ext(const std::string& path) {
    std::string e = fs::path(path).extension().string();
    std::transform(e.begin(), e.end(), e.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return e;
}
}  // namespace

ImageF load_image_float(const std::string& path, int64_t max_pixels) {
    const std::vector<uint8_t> bytes = read_bytes(path);
    if (const auto hdr = peek_image_header(bytes.data(), bytes.size()))
        check_size(hdr->width, hdr->height, max_pixels, path);
    cv::Mat m;
    try {
        const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
        m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        RV_THROW(ErrorCode::kCorruptFile, "cannot decode image '", path, "': ", e.what());
    } catch (const std::bad_alloc&) {
        RV_THROW(ErrorCode::kLimit, "out of memory decoding image '", path, "'");
    }
    RV_CHECK(!m.empty(), ErrorCode::kCorruptFile, "cannot decode image '", path,
             "': not a supported image format, or the data is corrupt or truncated");
    check_size(m.cols, m.rows, max_pixels, path);
    RV_CHECK(m.depth() == CV_8U || m.depth() == CV_16U, ErrorCode::kUnsupported, "image '", path,
             "' has float, signed or 32-bit samples; only 8- and 16-bit images are supported");
    const int nc = m.channels();
    RV_CHECK(nc >= 1 && nc <= 4, ErrorCode::kUnsupported, "image '", path, "' has ", nc, " channels");
    ImageF img;
    img.height = m.rows;
    img.width = m.cols;
    img.bit_depth = m.depth() == CV_8U ? 8 : 16;
    img.channels = nc >= 3 ? 3 : 1;
    const bool alpha = nc == 2 || nc == 4;
    const float inv = 1.0f / (img.bit_depth == 8 ? 255.0f : 65535.0f);
    const auto npx = static_cast<size_t>(img.height) * static_cast<size_t>(img.width);
    img.pixels.resize(npx * static_cast<size_t>(img.channels));
    if (alpha) img.alpha.resize(npx);
    for (int y = 0; y < m.rows; ++y) {
        for (int x = 0; x < m.cols; ++x) {
            float s[4];
            for (int c = 0; c < nc; ++c)
                s[c] = img.bit_depth == 8 ? static_cast<float>(m.ptr<uint8_t>(y)[x * nc + c])
                                          : static_cast<float>(m.ptr<uint16_t>(y)[x * nc + c]);
            const size_t p = static_cast<size_t>(y) * static_cast<size_t>(img.width) + static_cast<size_t>(x);
            if (img.channels == 3) {  // OpenCV order BGR(A) -> RGB
                img.pixels[p * 3 + 0] = s[2] * inv;
                img.pixels[p * 3 + 1] = s[1] * inv;
                img.pixels[p * 3 + 2] = s[0] * inv;
            } else {
                img.pixels[p] = s[0] * inv;
            }
            if (alpha) img.alpha[p] = s[nc - 1] * inv;
        }
    }
    return img;
}

void save_image_float(const std::string& path, const ImageF& img, int bit_depth, int jpeg_quality) {
    const auto npx = static_cast<size_t>(img.height) * static_cast<size_t>(img.width);
    RV_CHECK(img.height > 0 && img.width > 0 && (img.channels == 1 || img.channels == 3) &&
                 img.pixels.size() == npx * static_cast<size_t>(img.channels) &&
                 (img.alpha.empty() || img.alpha.size() == npx),
             ErrorCode::kInvalidArgument, "save_image_float: image for '", path,
             "' is empty or inconsistent");
    const std::string ext = lower_ext(path);
    const bool lossy8 = ext == ".jpg" || ext == ".jpeg" || ext == ".webp";
    const bool has_alpha_fmt = ext == ".png" || ext == ".tif" || ext == ".tiff" || ext == ".webp";
    RV_CHECK(ext == ".png" || ext == ".tif" || ext == ".tiff" || ext == ".bmp" || lossy8,
             ErrorCode::kInvalidArgument, "cannot write '", path,
             "': unknown image extension (use .png, .jpg, .webp, .tif or .bmp)");
    if (lossy8 || ext == ".bmp") bit_depth = 8;
    RV_CHECK(bit_depth == 8 || bit_depth == 16, ErrorCode::kInvalidArgument, "bit depth must be 8 or 16");
    const bool alpha = img.has_alpha() && has_alpha_fmt;
    const int nc = img.channels + (alpha ? 1 : 0);
    const int type = CV_MAKETYPE(bit_depth == 8 ? CV_8U : CV_16U, nc);
    cv::Mat m(img.height, img.width, type);
    const float maxv = bit_depth == 8 ? 255.0f : 65535.0f;
    auto q = [maxv](float v) { return std::nearbyint(std::clamp(v, 0.0f, 1.0f) * maxv); };
    for (int y = 0; y < img.height; ++y) {
        for (int x = 0; x < img.width; ++x) {
            const size_t p = static_cast<size_t>(y) * static_cast<size_t>(img.width) + static_cast<size_t>(x);
            float s[4];
            if (img.channels == 3) {
                s[0] = q(img.pixels[p * 3 + 2]);
                s[1] = q(img.pixels[p * 3 + 1]);
                s[2] = q(img.pixels[p * 3 + 0]);
            } else {
                s[0] = q(img.pixels[p]);
            }
            if (alpha) s[nc - 1] = q(img.alpha[p]);
            for (int c = 0; c < nc; ++c) {
                if (bit_depth == 8)
                    m.ptr<uint8_t>(y)[x * nc + c] = static_cast<uint8_t>(s[c]);
                else
                    m.ptr<uint16_t>(y)[x * nc + c] = static_cast<uint16_t>(s[c]);
            }
        }
    }
    std::vector<int> params;
    if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, jpeg_quality};
    if (ext == ".webp") params = {cv::IMWRITE_WEBP_QUALITY, std::clamp(jpeg_quality, 1, 100)};
    bool ok = false;
    try {
        ok = cv::imwrite(path, m, params);
    } catch (const cv::Exception& e) {
        RV_THROW(ErrorCode::kIo, "cannot write image '", path, "': ", e.what());
    }
    RV_CHECK(ok, ErrorCode::kIo, "cannot write image '", path, "'");
}

}  // namespace rv::image
