// Zip central-directory reader. Layer: vision/weights. See zip_reader.h.
#include "vision/weights/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <new>

#include "vision/core/error.h"
#include "vision/core/limits.h"

namespace rv::weights {

namespace {

constexpr uint32_t kSigLocal = 0x04034b50;         // "PK\3\4"
constexpr uint32_t kSigCentral = 0x02014b50;       // "PK\1\2"
constexpr uint32_t kSigEnd = 0x06054b50;           // "PK\5\6"
constexpr uint32_t kSigEnd64 = 0x06064b50;         // "PK\6\6"
constexpr uint32_t kSigEnd64Locator = 0x07064b50;  // "PK\6\7"
constexpr size_t kEndSize = 22;
constexpr size_t kEnd64Size = 56;
constexpr size_t kLocatorSize = 20;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;
constexpr size_t kMaxNameLength = 4096;
// Deflate cannot expand data by more than about 1032:1; a larger declared size is a lie that
// would only make us allocate memory for nothing.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
           (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t u64(const uint8_t* p) { return u32(p) | (static_cast<uint64_t>(u32(p + 4)) << 32); }

// a + b <= limit without overflow.
bool fits(uint64_t a, uint64_t b, uint64_t limit) { return a <= limit && b <= limit - a; }

struct InflateGuard {
    z_stream* zs;
    ~InflateGuard() { inflateEnd(zs); }
};

}  // namespace

ZipReader::ZipReader(const uint8_t* data, size_t size, std::string source)
    : data_(data), size_(size), source_(std::move(source)) {
    parse();
}

void ZipReader::parse() {
    const std::string& src = source_;
    RV_CHECK(size_ >= kEndSize, ErrorCode::kCorruptFile, "'", src, "': too small to be a zip archive (",
             size_, " bytes)");

    // The end record is the last 22 bytes plus a comment of up to 64 KiB. Take the last signature
    // whose comment length reaches exactly the end of the file, so stray "PK\5\6" bytes inside
    // data or comments cannot be mistaken for it.
    size_t end_pos = SIZE_MAX;
    const size_t lowest = size_ > kEndSize + 0xFFFF ? size_ - kEndSize - 0xFFFF : 0;
    for (size_t pos = size_ - kEndSize + 1; pos-- > lowest;) {
        if (u32(data_ + pos) == kSigEnd && pos + kEndSize + u16(data_ + pos + 20) == size_) {
            end_pos = pos;
            break;
        }
    }
    RV_CHECK(end_pos != SIZE_MAX, ErrorCode::kCorruptFile, "'", src,
             "': zip end-of-central-directory record not found (truncated or not a zip archive)");
    const uint8_t* eocd = data_ + end_pos;
    uint64_t disk = u16(eocd + 4), cd_disk = u16(eocd + 6);
    uint64_t n_disk = u16(eocd + 8), n_total = u16(eocd + 10);
    uint64_t cd_size = u32(eocd + 12), cd_offset = u32(eocd + 16);
    size_t cd_limit = end_pos;  // the central directory ends before the end records

    // zip64 end record, found through its locator right before the end record.
    const bool saturated = n_disk == 0xFFFF || n_total == 0xFFFF || cd_size == 0xFFFFFFFF ||
                           cd_offset == 0xFFFFFFFF || disk == 0xFFFF || cd_disk == 0xFFFF;
    if (end_pos >= kLocatorSize && u32(data_ + end_pos - kLocatorSize) == kSigEnd64Locator) {
        const uint8_t* loc = data_ + end_pos - kLocatorSize;
        const uint64_t rec_pos = u64(loc + 8);
        RV_CHECK(u32(loc + 4) == 0 && u32(loc + 16) <= 1, ErrorCode::kUnsupported, "'", src,
                 "': multi-disk zip archives are not supported");
        RV_CHECK(fits(rec_pos, kEnd64Size, end_pos - kLocatorSize), ErrorCode::kCorruptFile, "'", src,
                 "': zip64 end record offset ", rec_pos, " is outside the file");
        const uint8_t* rec = data_ + rec_pos;
        RV_CHECK(u32(rec) == kSigEnd64, ErrorCode::kCorruptFile, "'", src,
                 "': zip64 end record has a bad signature");
        const uint64_t d64 = u32(rec + 16), cd_d64 = u32(rec + 20);
        const uint64_t nd64 = u64(rec + 24), nt64 = u64(rec + 32);
        const uint64_t size64 = u64(rec + 40), off64 = u64(rec + 48);
        // Where the classic record has a real value, both records must agree.
        auto agree = [&](uint64_t classic, uint64_t wide, uint64_t sat) {
            return classic == sat || classic == wide;
        };
        RV_CHECK(agree(disk, d64, 0xFFFF) && agree(cd_disk, cd_d64, 0xFFFF) && agree(n_disk, nd64, 0xFFFF) &&
                     agree(n_total, nt64, 0xFFFF) && agree(cd_size, size64, 0xFFFFFFFF) &&
                     agree(cd_offset, off64, 0xFFFFFFFF),
                 ErrorCode::kCorruptFile, "'", src, "': zip64 end record disagrees with the end record");
        disk = d64;
        cd_disk = cd_d64;
        n_disk = nd64;
        n_total = nt64;
        cd_size = size64;
        cd_offset = off64;
        cd_limit = static_cast<size_t>(rec_pos);
    } else {
        RV_CHECK(!saturated, ErrorCode::kCorruptFile, "'", src,
                 "': zip end record needs a zip64 end record, which is missing");
    }
    RV_CHECK(disk == 0 && cd_disk == 0 && n_disk == n_total, ErrorCode::kUnsupported, "'", src,
             "': multi-disk (split) zip archives are not supported");
    RV_CHECK(n_total > 0, ErrorCode::kCorruptFile, "'", src, "': zip archive has no entries");
    RV_CHECK(n_total <= kMaxEntries, ErrorCode::kLimit, "'", src, "': zip archive declares ", n_total,
             " entries, more than the limit of ", kMaxEntries);
    RV_CHECK(fits(cd_offset, cd_size, cd_limit), ErrorCode::kCorruptFile, "'", src,
             "': zip central directory (offset ", cd_offset, ", ", cd_size, " bytes) lies outside the file");
    RV_CHECK(n_total <= cd_size / kCentralSize, ErrorCode::kCorruptFile, "'", src, "': zip archive declares ",
             n_total, " entries but its central directory has only ", cd_size, " bytes");

    entries_.reserve(static_cast<size_t>(n_total));
    const size_t cd_end = static_cast<size_t>(cd_offset + cd_size);
    size_t pos = static_cast<size_t>(cd_offset);
    for (uint64_t i = 0; i < n_total; ++i) {
        RV_CHECK(fits(pos, kCentralSize, cd_end) && u32(data_ + pos) == kSigCentral, ErrorCode::kCorruptFile,
                 "'", src, "': zip central directory entry ", i, " is damaged (bad signature or truncated)");
        const uint8_t* h = data_ + pos;
        const uint16_t flags = u16(h + 8);
        const uint16_t method = u16(h + 10);
        const size_t name_len = u16(h + 28), extra_len = u16(h + 30), comment_len = u16(h + 32);
        const size_t rec_len = kCentralSize + name_len + extra_len + comment_len;
        RV_CHECK(fits(pos, rec_len, cd_end), ErrorCode::kCorruptFile, "'", src,
                 "': zip central directory entry ", i, " runs past the directory");
        RV_CHECK(name_len > 0 && name_len <= kMaxNameLength, ErrorCode::kCorruptFile, "'", src,
                 "': zip entry ", i, " has a name of ", name_len, " bytes");
        ZipEntry e;
        e.name.assign(reinterpret_cast<const char*>(h + kCentralSize), name_len);
        e.method = method;
        e.crc32 = u32(h + 16);
        e.compressed_size = u32(h + 20);
        e.size = u32(h + 24);
        uint64_t disk_start = u16(h + 34);
        uint64_t local_offset = u32(h + 42);

        if ((flags & 0x0001u) || (flags & 0x0040u) || (flags & 0x2000u) || method == 99)
            RV_THROW(ErrorCode::kUnsupported, "'", src, "': zip entry '", e.name,
                     "' is encrypted; encrypted archives are not supported");
        if (method != 0 && method != 8)
            RV_THROW(ErrorCode::kUnsupported, "'", src, "': zip entry '", e.name,
                     "' uses compression method ", method, "; only stored (0) and deflate (8) are supported");

        // zip64 extended information: present only for the fields that are saturated, in this order.
        if (e.size == 0xFFFFFFFF || e.compressed_size == 0xFFFFFFFF || local_offset == 0xFFFFFFFF ||
            disk_start == 0xFFFF) {
            const uint8_t* x = h + kCentralSize + name_len;
            const uint8_t* x_end = x + extra_len;
            bool found = false;
            while (x_end - x >= 4) {
                const uint16_t id = u16(x);
                const size_t len = u16(x + 2);
                RV_CHECK(static_cast<size_t>(x_end - x - 4) >= len, ErrorCode::kCorruptFile, "'", src,
                         "': zip entry '", e.name, "' has a damaged extra field");
                if (id == 0x0001) {
                    const uint8_t* f = x + 4;
                    size_t left = len;
                    auto take64 = [&](uint64_t& v) {
                        RV_CHECK(left >= 8, ErrorCode::kCorruptFile, "'", src, "': zip entry '", e.name,
                                 "' has a short zip64 field");
                        v = u64(f);
                        f += 8;
                        left -= 8;
                    };
                    if (e.size == 0xFFFFFFFF) take64(e.size);
                    if (e.compressed_size == 0xFFFFFFFF) take64(e.compressed_size);
                    if (local_offset == 0xFFFFFFFF) take64(local_offset);
                    if (disk_start == 0xFFFF) {
                        RV_CHECK(left >= 4, ErrorCode::kCorruptFile, "'", src, "': zip entry '", e.name,
                                 "' has a short zip64 field");
                        disk_start = u32(f);
                    }
                    found = true;
                    break;
                }
                x += 4 + len;
            }
            RV_CHECK(found, ErrorCode::kCorruptFile, "'", src, "': zip entry '", e.name,
                     "' needs a zip64 extra field, which is missing");
        }
        RV_CHECK(disk_start == 0, ErrorCode::kUnsupported, "'", src,
                 "': multi-disk (split) zip archives are not supported");

        // The local header must exist, agree with the directory, and its data must end before the
        // central directory. Its sizes may be zero (bit 3: sizes in a data descriptor), so the
        // directory's sizes are the ones used.
        RV_CHECK(fits(local_offset, kLocalSize, cd_offset), ErrorCode::kCorruptFile, "'", src,
                 "': zip entry '", e.name, "' has a local header offset outside the file");
        const uint8_t* l = data_ + local_offset;
        RV_CHECK(u32(l) == kSigLocal, ErrorCode::kCorruptFile, "'", src, "': zip entry '", e.name,
                 "' has a damaged local header (bad signature)");
        RV_CHECK((u16(l + 6) & 0x0001u) == 0, ErrorCode::kUnsupported, "'", src, "': zip entry '", e.name,
                 "' is encrypted; encrypted archives are not supported");
        const size_t l_name = u16(l + 26), l_extra = u16(l + 28);
        RV_CHECK(u16(l + 8) == method && l_name == name_len &&
                     fits(local_offset + kLocalSize, l_name, cd_offset) &&
                     std::equal(e.name.begin(), e.name.end(), reinterpret_cast<const char*>(l + kLocalSize)),
                 ErrorCode::kCorruptFile, "'", src, "': zip entry '", e.name,
                 "' has a local header that disagrees with the central directory");
        e.data_offset = local_offset + kLocalSize + l_name + l_extra;
        RV_CHECK(fits(e.data_offset, e.compressed_size, cd_offset), ErrorCode::kCorruptFile, "'", src,
                 "': zip entry '", e.name, "' (", e.compressed_size, " bytes at offset ", e.data_offset,
                 ") runs past the end of the data area");
        if (method == 0) {
            RV_CHECK(e.compressed_size == e.size, ErrorCode::kCorruptFile, "'", src, "': stored zip entry '",
                     e.name, "' has different compressed (", e.compressed_size, ") and uncompressed (",
                     e.size, ") sizes");
        } else {
            RV_CHECK(e.size <= e.compressed_size * kMaxDeflateRatio + 64, ErrorCode::kCorruptFile, "'", src,
                     "': zip entry '", e.name, "' declares ", e.size, " bytes from ", e.compressed_size,
                     " compressed bytes, which deflate cannot produce");
        }
        entries_.push_back(std::move(e));
        pos += rec_len;
    }

    sorted_.resize(entries_.size());
    for (size_t i = 0; i < sorted_.size(); ++i) sorted_[i] = i;
    std::sort(sorted_.begin(), sorted_.end(),
              [&](size_t a, size_t b) { return entries_[a].name < entries_[b].name; });
    for (size_t i = 1; i < sorted_.size(); ++i)
        RV_CHECK(entries_[sorted_[i]].name != entries_[sorted_[i - 1]].name, ErrorCode::kCorruptFile, "'",
                 src, "': zip archive has two entries named '", entries_[sorted_[i]].name, "'");
}

const ZipEntry* ZipReader::find(std::string_view name) const {
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), name,
                               [&](size_t i, std::string_view n) { return entries_[i].name < n; });
    if (it == sorted_.end() || entries_[*it].name != name) return nullptr;
    return &entries_[*it];
}

std::span<const uint8_t> ZipReader::read(const ZipEntry& e, std::unique_ptr<uint8_t[]>& owned,
                                         bool verify_crc) const {
    const uint8_t* in = data_ + e.data_offset;
    if (e.method == 0) {
        if (verify_crc) {
            const uint32_t crc = static_cast<uint32_t>(crc32_z(0, in, static_cast<z_size_t>(e.size)));
            RV_CHECK(crc == e.crc32, ErrorCode::kCorruptFile, "'", source_, "': zip entry '", e.name,
                     "' fails its CRC-32 check (the file is damaged)");
        }
        return {in, static_cast<size_t>(e.size)};
    }

    // The declared size is bounded by the deflate ratio only: a small file can still ask for GiBs.
    RV_CHECK(e.size <= static_cast<uint64_t>(limits().max_tensor_bytes), ErrorCode::kLimit, "'", source_,
             "': zip entry '", e.name, "' inflates to ", e.size, " bytes, more than the limit of ",
             limits().max_tensor_bytes, " bytes (raise it with --max-tensor-bytes or RV_MAX_TENSOR_BYTES)");
    try {
        owned.reset(new uint8_t[e.size == 0 ? 1 : e.size]);
    } catch (const std::bad_alloc&) {
        RV_THROW(ErrorCode::kLimit, "'", source_, "': out of memory inflating zip entry '", e.name, "' (",
                 e.size, " bytes)");
    }
    z_stream zs{};
    RV_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, ErrorCode::kInternal, "zlib inflateInit2 failed");
    InflateGuard guard{&zs};
    // zlib counts in 32-bit chunks, so feed input and output in slices of at most 1 GiB.
    constexpr uint64_t kSlice = uint64_t{1} << 30;
    uint64_t in_left = e.compressed_size, out_given = 0;
    uint8_t probe = 0;  // a 1-byte sink that catches streams longer than declared
    bool probing = false;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            const uint64_t n = std::min(in_left, kSlice);
            zs.next_in = const_cast<Bytef*>(in);
            zs.avail_in = static_cast<uInt>(n);
            in += n;
            in_left -= n;
        }
        if (zs.avail_out == 0) {
            if (out_given < e.size) {
                const uint64_t n = std::min(e.size - out_given, kSlice);
                zs.next_out = owned.get() + out_given;
                zs.avail_out = static_cast<uInt>(n);
                out_given += n;
            } else {
                RV_CHECK(!probing, ErrorCode::kCorruptFile, "'", source_, "': zip entry '", e.name,
                         "' inflates to more than its declared ", e.size, " bytes");
                zs.next_out = &probe;
                zs.avail_out = 1;
                probing = true;
            }
        }
        const int rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) break;
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0)
            RV_THROW(ErrorCode::kCorruptFile, "'", source_, "': zip entry '", e.name,
                     "' has a truncated deflate stream");
        RV_THROW(ErrorCode::kCorruptFile, "'", source_, "': zip entry '", e.name,
                 "' has a damaged deflate stream (", zs.msg ? zs.msg : "zlib error", ")");
    }
    RV_CHECK(static_cast<uint64_t>(zs.total_out) == e.size, ErrorCode::kCorruptFile, "'", source_,
             "': zip entry '", e.name, "' inflates to ", static_cast<uint64_t>(zs.total_out),
             " bytes, not the declared ", e.size);
    const uint32_t crc = static_cast<uint32_t>(crc32_z(0, owned.get(), static_cast<z_size_t>(e.size)));
    RV_CHECK(crc == e.crc32, ErrorCode::kCorruptFile, "'", source_, "': zip entry '", e.name,
             "' fails its CRC-32 check (the file is damaged)");
    return {owned.get(), static_cast<size_t>(e.size)};
}

}  // namespace rv::weights
