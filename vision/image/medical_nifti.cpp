// NIfTI-1 header pass-through (see medical_nifti.h). zlib's gz* functions read and write both
// plain and gzip-compressed files. Layer: vision/image.
#include "vision/image/medical_nifti.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "vision/core/error.h"
#include "vision/core/limits.h"

namespace rv::image::nifti {
namespace {

// Header field offsets (nifti1.h).
constexpr size_t kSizeofHdr = 0, kDatatype = 70, kBitpix = 72, kVoxOffset = 108, kSclSlope = 112,
                 kSclInter = 116, kCalMax = 124, kCalMin = 128, kGlmax = 140, kGlmin = 144, kMagic = 344;

struct GzCloser {
    void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

template <typename T>
T load(const std::vector<uint8_t>& h, size_t offset, bool swap) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, h.data() + offset, sizeof(T));
    if (swap) std::reverse(b, b + sizeof(T));
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
}

template <typename T>
void store(std::vector<uint8_t>& h, size_t offset, T v, bool swap) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (swap) std::reverse(b, b + sizeof(T));
    std::memcpy(h.data() + offset, b, sizeof(T));
}

bool ends_with_gz(const std::string& path) {
    return path.size() > 3 &&
           (path.compare(path.size() - 3, 3, ".gz") == 0 || path.compare(path.size() - 3, 3, ".GZ") == 0);
}

}  // namespace

bool header_swapped(const std::vector<uint8_t>& h) { return load<int32_t>(h, kSizeofHdr, false) != 348; }
int16_t get_i16(const std::vector<uint8_t>& h, size_t offset) {
    return load<int16_t>(h, offset, header_swapped(h));
}
float get_f32(const std::vector<uint8_t>& h, size_t offset) {
    return load<float>(h, offset, header_swapped(h));
}

std::vector<uint8_t> read_header(const std::string& path) {
    GzFile f(gzopen(path.c_str(), "rb"));
    RV_CHECK(f, ErrorCode::kIo, "cannot open '", path, "'");
    std::vector<uint8_t> h(kHeaderSize);
    const int got = gzread(f.get(), h.data(), static_cast<unsigned>(kHeaderSize));
    RV_CHECK(got == static_cast<int>(kHeaderSize), ErrorCode::kCorruptFile, "'", path,
             "' is too short for a NIfTI header (", got < 0 ? 0 : got,
             " of 348 bytes); the file is truncated");
    const bool native = load<int32_t>(h, kSizeofHdr, false) == 348;
    const bool swapped = load<int32_t>(h, kSizeofHdr, true) == 348;
    if (!(native || swapped) || std::memcmp(h.data() + kMagic, "n+1", 4) != 0) return {};
    return h;
}

void check_data(const std::string& path, const std::vector<uint8_t>& h) {
    const bool swap = header_swapped(h);
    const int16_t ndim = load<int16_t>(h, 40, swap);
    RV_CHECK(ndim >= 1 && ndim <= 7, ErrorCode::kCorruptFile, "'", path, "' declares ", ndim,
             " dimensions (dim[0] must be 1..7)");
    int64_t count = 1;
    for (size_t a = 1; a <= static_cast<size_t>(ndim); ++a) {
        const int16_t d = load<int16_t>(h, 40 + 2 * a, swap);
        RV_CHECK(d >= 1, ErrorCode::kShapeMismatch, "'", path, "' has size ", d, " along axis ", a - 1,
                 "; an empty volume cannot be segmented");
        count *= d;
        // Seven int16 sizes can overflow int64; a volume this large is refused long before that.
        // The check runs per axis, so count never exceeds 2^32 * 32767 before it fires.
        RV_CHECK(count <= limits().max_tensor_bytes, ErrorCode::kLimit, "'", path, "' declares at least ",
                 count, " voxels, over the limit of ", limits().max_tensor_bytes,
                 " (raise it with --max-tensor-bytes or RV_MAX_TENSOR_BYTES)");
    }
    const int16_t datatype = load<int16_t>(h, kDatatype, swap);
    const int16_t bitpix = load<int16_t>(h, kBitpix, swap);
    RV_CHECK(bitpix > 0 && bitpix % 8 == 0, ErrorCode::kCorruptFile, "'", path, "' has bitpix ", bitpix);
    // vox_offset is a float in the header: converting a huge, negative or NaN one to an integer is
    // undefined behaviour (found by fuzz_nifti), so range-check it as a float first.
    const float vox_offset = load<float>(h, kVoxOffset, swap);
    RV_CHECK(std::isfinite(vox_offset) && vox_offset >= 0.0f && vox_offset < 1.0e12f, ErrorCode::kCorruptFile,
             "'", path, "' has an invalid vox_offset ", vox_offset, " (a byte offset is expected)");
    const auto offset = static_cast<int64_t>(vox_offset);
    const int64_t need = count * (bitpix / 8);
    GzFile f(gzopen(path.c_str(), "rb"));
    RV_CHECK(f, ErrorCode::kIo, "cannot open '", path, "'");
    gzbuffer(f.get(), 1 << 17);
    RV_CHECK(gzseek(f.get(), std::max<int64_t>(offset, 348), SEEK_SET) >= 0, ErrorCode::kCorruptFile, "'",
             path, "' ends before its data (vox_offset ", offset, ")");
    const bool f32 = datatype == 16, f64 = datatype == 64;
    const size_t elem = f64 ? 8 : 4;
    std::vector<uint8_t> buf(size_t{1} << 20);
    int64_t got = 0;
    while (got < need) {
        const auto want =
            static_cast<unsigned>(std::min<int64_t>(need - got, static_cast<int64_t>(buf.size())));
        const int n = gzread(f.get(), buf.data(), want);
        if (n <= 0) break;
        if (f32 || f64) {
            RV_ASSERT(got % static_cast<int64_t>(elem) == 0 && static_cast<size_t>(n) % elem == 0);
            for (size_t i = 0; i + elem <= static_cast<size_t>(n); i += elem) {
                uint8_t b[8];
                std::memcpy(b, buf.data() + i, elem);
                if (swap) std::reverse(b, b + elem);
                double v;
                if (f32) {
                    float x;
                    std::memcpy(&x, b, 4);
                    v = static_cast<double>(x);
                } else {
                    std::memcpy(&v, b, 8);
                }
                RV_CHECK(std::isfinite(v), ErrorCode::kCorruptFile, "'", path, "' has a ",
                         std::isnan(v) ? "NaN" : "infinite", " voxel (at linear index ",
                         (got + static_cast<int64_t>(i)) / static_cast<int64_t>(elem),
                         "); fix or mask the input before segmenting it");
            }
        }
        got += n;
    }
    RV_CHECK(got == need, ErrorCode::kCorruptFile, "'", path, "' is truncated: its header declares ", count,
             " voxels (", need, " bytes of data), the file holds ", got, " bytes");
}

void write(const std::string& path, const std::vector<uint8_t>& header, DataType type, const void* data,
           int64_t count) {
    RV_ASSERT(header.size() == kHeaderSize);
    std::vector<uint8_t> h = header;
    const bool swap = header_swapped(h);
    const auto bytes_per = static_cast<size_t>(type == DataType::kUInt8 ? 1 : 4);
    store<int16_t>(h, kDatatype, static_cast<int16_t>(type), swap);
    store<int16_t>(h, kBitpix, static_cast<int16_t>(8 * bytes_per), swap);
    store<float>(h, kVoxOffset, 352.0f, swap);
    store<float>(h, kSclSlope, 1.0f, swap);
    store<float>(h, kSclInter, 0.0f, swap);
    store<float>(h, kCalMax, 0.0f, swap);
    store<float>(h, kCalMin, 0.0f, swap);
    store<int32_t>(h, kGlmax, 0, swap);
    store<int32_t>(h, kGlmin, 0, swap);

    GzFile f(gzopen(path.c_str(), ends_with_gz(path) ? "wb6" : "wbT"));
    RV_CHECK(f, ErrorCode::kIo, "cannot create '", path, "'");
    const uint8_t extender[4] = {0, 0, 0, 0};  // no extensions follow
    bool ok = gzwrite(f.get(), h.data(), static_cast<unsigned>(h.size())) == static_cast<int>(h.size()) &&
              gzwrite(f.get(), extender, 4) == 4;
    // Data in chunks (gzwrite takes an unsigned length), byte-swapped for a swapped header.
    const auto* p = static_cast<const uint8_t*>(data);
    const size_t total = static_cast<size_t>(count) * bytes_per;
    std::vector<uint8_t> chunk;
    for (size_t done = 0; ok && done < total;) {
        const size_t n = std::min<size_t>(total - done, size_t{1} << 24);
        const uint8_t* src = p + done;
        if (swap && bytes_per > 1) {
            chunk.assign(src, src + n);
            for (size_t i = 0; i < n; i += bytes_per)
                std::reverse(chunk.begin() + static_cast<long>(i),
                             chunk.begin() + static_cast<long>(i + bytes_per));
            src = chunk.data();
        }
        ok = gzwrite(f.get(), src, static_cast<unsigned>(n)) == static_cast<int>(n);
        done += n;
    }
    const int rc = gzclose(f.release());
    RV_CHECK(ok && rc == Z_OK, ErrorCode::kIo, "writing '", path, "' failed (disk full?)");
}

}  // namespace rv::image::nifti
