// Image loading and PNG saving through OpenCV (see image.h). OpenCV stays in this file.
//
// Decode flags: IMREAD_ANYDEPTH | IMREAD_ANYCOLOR, not IMREAD_UNCHANGED. OpenCV applies a file's
// EXIF orientation for every flag value except IMREAD_UNCHANGED, and the reference pipeline
// (mmcls LoadImageFromFile -> mmcv.imread(flag='color') -> cv2.IMREAD_COLOR) sees rotated images,
// so we must not use IMREAD_UNCHANGED. ANYDEPTH keeps 16-bit samples (reduced by to_image8 exactly
// as IMREAD_COLOR would), ANYCOLOR gives 1 channel for gray files and 3 (B,G,R) otherwise; alpha
// is dropped by the codec, as with IMREAD_COLOR. Checked against cv2.imread(IMREAD_COLOR) on the
// fixtures in tests/fixtures/image (EXIF-rotated JPEG, 16-bit, RGBA, gray+alpha PNGs).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "vision/core/error.h"
#include "vision/image/color.h"
#include "vision/image/image.h"
#include "vision/image/image_header.h"

namespace rv::image {
namespace {

namespace fs = std::filesystem;

// Largest file we read into memory: far above any real photo, far below a mistake like a disk image.
constexpr uintmax_t kMaxFileBytes = uintmax_t{1} << 31;

std::string first_line(const std::string& s) {
    const size_t nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

std::vector<uint8_t> read_file(const std::string& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) RV_THROW(ErrorCode::kNotFound, "image file '", path, "' does not exist");
    RV_CHECK(!fs::is_directory(st), ErrorCode::kInvalidArgument, "image path '", path,
             "' is a directory, not an image file");
    const uintmax_t size = fs::file_size(path, ec);
    RV_CHECK(!ec, ErrorCode::kIo, "cannot read image file '", path, "': ", ec.message());
    RV_CHECK(size <= kMaxFileBytes, ErrorCode::kLimit, "image file '", path, "' is ", size,
             " bytes, more than the ", kMaxFileBytes, "-byte limit");

    std::ifstream in(path, std::ios::binary);
    RV_CHECK(in.good(), ErrorCode::kIo, "cannot open image file '", path, "': ", std::strerror(errno));
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    RV_CHECK(static_cast<uintmax_t>(in.gcount()) == size || size == 0, ErrorCode::kIo,
             "cannot read image file '", path, "': short read");
    return bytes;
}

void check_pixels(int64_t width, int64_t height, int64_t max_pixels, const std::string& name) {
    // Compare without multiplying: width * height may not fit in 64 bits for a hostile header.
    RV_CHECK(width > 0 && height > 0, ErrorCode::kCorruptFile, "image '", name, "' declares an empty size ",
             width, "x", height);
    RV_CHECK(width <= max_pixels / height, ErrorCode::kLimit, "image '", name, "' is ", width, "x", height,
             " pixels, more than the limit of ", max_pixels, " pixels");
}

// Only these formats reach OpenCV: its other decoders (Radiance HDR, Sun raster, PFM, PAM, EXR,
// GDAL, ...) are rarely exercised, and some of them copy the bytes to a temporary file in /tmp
// before decoding (found by fuzzing: imdecode of an RGBE header). JPEG 2000 has no size peek, so
// OpenCV's own pixel limit and ours after decoding apply to it.
bool has_supported_magic(const std::vector<uint8_t>& b) {
    const auto starts = [&](std::initializer_list<uint8_t> m) {
        return b.size() >= m.size() && std::equal(m.begin(), m.end(), b.begin());
    };
    if (starts({0x89, 'P', 'N', 'G'}) || starts({0xFF, 0xD8}) || starts({'B', 'M'})) return true;
    if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return true;  // TIFF
    if (b.size() >= 12 && starts({'R', 'I', 'F', 'F'}) && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' &&
        b[11] == 'P')
        return true;                                                                         // WebP
    if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return true;             // PNM
    return starts({0, 0, 0, 0x0C, 'j', 'P', ' ', ' '}) || starts({0xFF, 0x4F, 0xFF, 0x51});  // JPEG 2000
}

}  // namespace

Image8 decode_image(const std::vector<uint8_t>& bytes, ColorMode mode, const std::string& name,
                    int64_t max_pixels) {
    RV_CHECK(max_pixels > 0, ErrorCode::kInvalidArgument, "decode_image: max_pixels must be positive");
    RV_CHECK(!bytes.empty(), ErrorCode::kCorruptFile, "image '", name, "' is empty (0 bytes)");
    RV_CHECK(bytes.size() <= static_cast<size_t>(INT32_MAX), ErrorCode::kLimit, "image '", name,
             "' is larger than 2 GiB");

    RV_CHECK(has_supported_magic(bytes), ErrorCode::kCorruptFile, "image '", name,
             "' is not a PNG, JPEG, BMP, TIFF, WebP, PNM or JPEG 2000 file (or its first bytes are damaged)");
    // Refuse oversized rasters before a codec allocates for them.
    if (const auto header = peek_image_header(bytes.data(), bytes.size())) {
        check_pixels(header->width, header->height, max_pixels, name);
    }

    cv::Mat decoded;
    try {
        // imdecode only reads the buffer; the Mat header needs a non-const pointer.
        const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data()));
        decoded = cv::imdecode(buf, cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR);
    } catch (const cv::Exception& e) {
        // OpenCV's own pixel limit (CV_IO_MAX_IMAGE_PIXELS) catches formats we cannot peek.
        const std::string msg = first_line(e.what());
        if (msg.find("CV_IO_MAX_IMAGE_PIXELS") != std::string::npos) {
            RV_THROW(ErrorCode::kLimit, "image '", name, "' is too large to decode: ", msg);
        }
        RV_THROW(ErrorCode::kCorruptFile, "cannot decode image '", name, "': ", msg);
    } catch (const std::bad_alloc&) {
        RV_THROW(ErrorCode::kLimit, "out of memory decoding image '", name, "'");
    } catch (const std::exception& e) {  // a codec library's own exception type
        RV_THROW(ErrorCode::kCorruptFile, "cannot decode image '", name, "': ", first_line(e.what()));
    }
    RV_CHECK(!decoded.empty(), ErrorCode::kCorruptFile, "cannot decode image '", name,
             "': not a supported image format, or the data is corrupt or truncated");
    check_pixels(decoded.cols, decoded.rows, max_pixels, name);

    const int depth = decoded.depth();
    RV_CHECK(depth == CV_8U || depth == CV_16U, ErrorCode::kUnsupported, "image '", name, "' has ",
             (depth == CV_32F || depth == CV_64F) ? "floating-point" : "signed or 32-bit",
             " samples; only 8- and 16-bit images are supported");
    RV_CHECK(decoded.channels() >= 1 && decoded.channels() <= 4, ErrorCode::kUnsupported, "image '", name,
             "' has ", decoded.channels(), " channels; 1 to 4 are supported");

    PixelBuffer px;
    px.data = decoded.data;
    px.height = decoded.rows;
    px.width = decoded.cols;
    px.channels = decoded.channels();
    px.bit_depth = depth == CV_8U ? 8 : 16;
    px.row_bytes = decoded.step[0];
    return to_image8(px, mode);
}

Image8 load_image(const std::string& path, ColorMode mode, int64_t max_pixels) {
    return decode_image(read_file(path), mode, path, max_pixels);
}

void save_png(const std::string& path, const Image8& img) {
    RV_CHECK(img.width > 0 && img.height > 0 && (img.channels == 1 || img.channels == 3) &&
                 img.pixels.size() == static_cast<size_t>(img.width) * static_cast<size_t>(img.height) *
                                          static_cast<size_t>(img.channels),
             ErrorCode::kInvalidArgument, "save_png: image for '", path, "' is empty or inconsistent (",
             img.width, "x", img.height, "x", img.channels, ")");

    std::vector<uint8_t> encoded;
    try {
        const cv::Mat view(img.height, img.width, img.channels == 3 ? CV_8UC3 : CV_8UC1,
                           const_cast<uint8_t*>(img.pixels.data()));
        cv::Mat bgr;
        if (img.channels == 3) {
            cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
        } else {
            bgr = view;
        }
        RV_CHECK(cv::imencode(".png", bgr, encoded), ErrorCode::kIo, "cannot encode PNG for '", path, "'");
    } catch (const cv::Exception& e) {
        RV_THROW(ErrorCode::kIo, "cannot encode PNG for '", path, "': ", first_line(e.what()));
    }

    // Write next to the target, then rename: a reader never sees a half-written file.
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        RV_CHECK(out.good(), ErrorCode::kIo, "cannot write '", tmp, "': ", std::strerror(errno));
        out.write(reinterpret_cast<const char*>(encoded.data()),
                  static_cast<std::streamsize>(encoded.size()));
        out.close();
        if (!out) {
            std::remove(tmp.c_str());
            RV_THROW(ErrorCode::kIo, "cannot write '", tmp, "': ", std::strerror(errno));
        }
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        RV_THROW(ErrorCode::kIo, "cannot rename '", tmp, "' to '", path, "': ", ec.message());
    }
}

}  // namespace rv::image
