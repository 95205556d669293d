// ZipReader: a small, defensive reader of the zip container PyTorch writes for .pth files.
// Layer: vision/weights. PyTorch counterpart: caffe2/serialize/inline_container.cc
// (PyTorchStreamReader, which uses miniz); format: PKWARE APPNOTE.TXT 6.3.
//
// Only what torch.save and ordinary zip tools produce is accepted: one disk, no encryption,
// entries stored (method 0) or deflated (method 8, through zlib). torch always writes a zip64
// end record (miniz MZ_ZIP_FLAG_WRITE_ZIP64) and needs zip64 fields for checkpoints over 4 GiB,
// so zip64 sizes and offsets are read too. Every count, offset and size is checked against the
// byte range before it is used; local headers must agree with the central directory. Nothing is
// decompressed until read() is called, and stored entries are returned without a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rv::weights {

struct ZipEntry {
    std::string name;
    uint16_t method = 0;  // 0 stored, 8 deflate
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;         // uncompressed
    uint64_t data_offset = 0;  // first byte of the (compressed) data in the file
};

class ZipReader {
public:
    // Upper bound on entries: torch writes one per storage plus a few records.
    static constexpr uint64_t kMaxEntries = 1'000'000;

    // Parses the central directory and every local header. `source` names the file in messages.
    ZipReader(const uint8_t* data, size_t size, std::string source);

    const std::vector<ZipEntry>& entries() const { return entries_; }
    const ZipEntry* find(std::string_view name) const;  // nullptr when absent

    // The uncompressed bytes of `e`. Stored entries point into the file; deflated entries are
    // inflated into `owned` (allocated here, exactly e.size bytes). `verify_crc` checks the
    // CRC-32 of stored entries too (deflated ones are always checked).
    std::span<const uint8_t> read(const ZipEntry& e, std::unique_ptr<uint8_t[]>& owned,
                                  bool verify_crc) const;

    const std::string& source() const { return source_; }

private:
    void parse();

    const uint8_t* data_;
    size_t size_;
    std::string source_;
    std::vector<ZipEntry> entries_;
    std::vector<size_t> sorted_;  // entry indices sorted by name, for find()
};

}  // namespace rv::weights
