// Header peeking (see image_header.h). Every read is bounds-checked; nothing here trusts a length
// field further than the buffer it was read from.
#include "vision/image/image_header.h"

#include <cstring>

namespace rv::image {
namespace {

class Reader {
public:
    Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool has(size_t pos, size_t n) const { return pos <= size_ && n <= size_ - pos; }
    uint32_t u8(size_t pos) const { return data_[pos]; }
    uint32_t be16(size_t pos) const { return (u8(pos) << 8) | u8(pos + 1); }
    uint32_t le16(size_t pos) const { return u8(pos) | (u8(pos + 1) << 8); }
    uint32_t be32(size_t pos) const { return (be16(pos) << 16) | be16(pos + 2); }
    uint32_t le32(size_t pos) const { return le16(pos) | (le16(pos + 2) << 16); }
    uint32_t le24(size_t pos) const { return u8(pos) | (u8(pos + 1) << 8) | (u8(pos + 2) << 16); }
    bool starts(size_t pos, std::string_view s) const {
        return has(pos, s.size()) && std::memcmp(data_ + pos, s.data(), s.size()) == 0;
    }
    size_t size() const { return size_; }

private:
    const uint8_t* data_;
    size_t size_;
};

std::optional<HeaderInfo> png(const Reader& r) {
    // Signature, then the IHDR chunk: length(4) "IHDR" width(4) height(4), big-endian.
    if (!r.has(0, 24) || !r.starts(12, "IHDR")) return std::nullopt;
    return HeaderInfo{"png", r.be32(16), r.be32(20)};
}

std::optional<HeaderInfo> jpeg(const Reader& r) {
    size_t pos = 2;  // after SOI
    while (r.has(pos, 2)) {
        if (r.u8(pos) != 0xFF) return std::nullopt;
        const uint32_t marker = r.u8(pos + 1);
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        pos += 2;
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
        if (marker == 0xD9 || marker == 0xDA) return std::nullopt;           // EOI / SOS before SOF
        if (!r.has(pos, 2)) return std::nullopt;
        const uint32_t len = r.be16(pos);
        if (len < 2) return std::nullopt;
        const bool sof =
            marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof) {
            // length(2) precision(1) height(2) width(2)
            if (len < 7 || !r.has(pos, 7)) return std::nullopt;
            return HeaderInfo{"jpeg", r.be16(pos + 5), r.be16(pos + 3)};
        }
        pos += len;
    }
    return std::nullopt;
}

std::optional<HeaderInfo> bmp(const Reader& r) {
    if (!r.has(0, 18)) return std::nullopt;
    const uint32_t header_size = r.le32(14);
    if (header_size == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes
        if (!r.has(18, 4)) return std::nullopt;
        return HeaderInfo{"bmp", r.le16(18), r.le16(20)};
    }
    if (!r.has(18, 8)) return std::nullopt;
    const int64_t w = static_cast<int32_t>(r.le32(18));
    const int64_t h = static_cast<int32_t>(r.le32(22));  // negative = top-down rows
    return HeaderInfo{"bmp", w < 0 ? -w : w, h < 0 ? -h : h};
}

std::optional<HeaderInfo> webp(const Reader& r) {
    if (!r.has(0, 30)) return std::nullopt;
    if (r.starts(12, "VP8X")) {  // canvas size minus one, 24-bit little-endian
        return HeaderInfo{"webp", int64_t{r.le24(24)} + 1, int64_t{r.le24(27)} + 1};
    }
    if (r.starts(12, "VP8L")) {  // signature 0x2f, then 14 bits width-1, 14 bits height-1
        if (r.u8(20) != 0x2F) return std::nullopt;
        const uint32_t bits = r.le32(21);
        return HeaderInfo{"webp", int64_t{bits & 0x3FFF} + 1, int64_t{(bits >> 14) & 0x3FFF} + 1};
    }
    if (r.starts(12, "VP8 ")) {  // frame tag(3), start code 9d 01 2a, width(14 bits), height(14 bits)
        if (r.u8(23) != 0x9D || r.u8(24) != 0x01 || r.u8(25) != 0x2A) return std::nullopt;
        return HeaderInfo{"webp", r.le16(26) & 0x3FFF, r.le16(28) & 0x3FFF};
    }
    return std::nullopt;
}

// Netpbm: "P<n>", then width and height as ASCII decimals separated by whitespace or # comments.
std::optional<HeaderInfo> pnm(const Reader& r, const uint8_t* data) {
    size_t pos = 2;
    int64_t dims[2] = {0, 0};
    for (int64_t& d : dims) {
        for (;;) {  // skip whitespace and comments
            if (!r.has(pos, 1)) return std::nullopt;
            const uint8_t c = data[pos];
            if (c == '#') {
                while (r.has(pos, 1) && data[pos] != '\n' && data[pos] != '\r') ++pos;
            } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
                ++pos;
            } else {
                break;
            }
        }
        int digits = 0;
        while (r.has(pos, 1) && data[pos] >= '0' && data[pos] <= '9') {
            if (++digits > 12) return std::nullopt;  // keeps d far from overflow
            d = d * 10 + (data[pos] - '0');
            ++pos;
        }
        if (digits == 0) return std::nullopt;
    }
    return HeaderInfo{"pnm", dims[0], dims[1]};
}

std::optional<HeaderInfo> tiff(const Reader& r) {
    const bool le = r.starts(0, "II");
    auto u16 = [&](size_t p) { return le ? r.le16(p) : r.be16(p); };
    auto u32 = [&](size_t p) { return le ? r.le32(p) : r.be32(p); };
    if (!r.has(0, 8) || u16(2) != 42) return std::nullopt;  // BigTIFF (43) is left to the decoder
    const size_t ifd = u32(4);
    if (!r.has(ifd, 2)) return std::nullopt;
    const uint32_t entries = u16(ifd);
    int64_t width = -1, height = -1;
    for (uint32_t i = 0; i < entries; ++i) {
        const size_t e = ifd + 2 + size_t{12} * i;
        if (!r.has(e, 12)) return std::nullopt;
        const uint32_t tag = u16(e), type = u16(e + 2);
        if (tag != 256 && tag != 257) continue;
        int64_t value;
        if (type == 3) {
            value = u16(e + 8);  // SHORT, left-justified in the value field
        } else if (type == 4) {
            value = u32(e + 8);  // LONG
        } else {
            return std::nullopt;
        }
        (tag == 256 ? width : height) = value;
    }
    if (width < 0 || height < 0) return std::nullopt;
    return HeaderInfo{"tiff", width, height};
}

}  // namespace

std::optional<HeaderInfo> peek_image_header(const uint8_t* data, size_t size) {
    if (data == nullptr) return std::nullopt;
    const Reader r(data, size);
    if (r.starts(0, "\x89PNG\r\n\x1a\n")) return png(r);
    if (r.starts(0, "\xFF\xD8")) return jpeg(r);
    if (r.starts(0, "BM")) return bmp(r);
    if (r.starts(0, "RIFF") && r.starts(8, "WEBP")) return webp(r);
    if (r.has(0, 2) && data[0] == 'P' && data[1] >= '1' && data[1] <= '6') return pnm(r, data);
    if (r.starts(0, "II") || r.starts(0, "MM")) return tiff(r);
    return std::nullopt;
}

}  // namespace rv::image
