// Helpers for the vision/weights tests: fixture paths, file bytes, and tiny builders for zip
// archives and pickle streams, so damaged checkpoints can be made in memory without Python.
// Layer: tests. PyTorch counterpart: none (tools/make_weight_fixtures.py writes the good files).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vision/core/error.h"
#include "vision/weights/weight_store.h"

namespace rv::test::wt {

using Bytes = std::vector<uint8_t>;

std::string fixture(const std::string& name);  // tests/fixtures/weights/<name>
Bytes read_bytes(const std::string& path);
Bytes to_bytes(const std::string& s);
uint32_t crc32(const uint8_t* p, size_t n);

// A zip archive of stored entries with a classic end record (what Python's zipfile writes).
struct ZipFile {
    std::string name;
    Bytes data;
};
Bytes make_zip(const std::vector<ZipFile>& files);
// The same archive with every size, offset and count moved into zip64 fields (as torch does for
// checkpoints over 4 GiB): saturated classic fields, zip64 extra fields, zip64 end record.
Bytes make_zip64(const std::vector<ZipFile>& files);

// The data.pkl of a fixture's archive (via our own zip reader).
Bytes pickle_of(const Bytes& pth);

// A PyTorch-style archive "<prefix>/data.pkl", "<prefix>/version", "<prefix>/data/<key>".
Bytes torch_zip(const std::string& pkl, const std::vector<std::pair<std::string, Bytes>>& storages,
                const std::string& prefix = "archive");

// Appends pickle opcodes to a string.
struct Pickle {
    std::string b;
    Pickle& raw(const std::string& s) {
        b += s;
        return *this;
    }
    Pickle& op(uint8_t c) {
        b.push_back(static_cast<char>(c));
        return *this;
    }
    Pickle& proto(int v = 2) { return op(0x80).op(static_cast<uint8_t>(v)); }
    Pickle& mark() { return op('('); }
    Pickle& str(const std::string& s);                                   // BINUNICODE
    Pickle& integer(int64_t v);                                          // BININT1 / BININT / LONG1
    Pickle& global(const std::string& module, const std::string& name);  // GLOBAL
    Pickle& put(uint8_t i) { return op('q').op(i); }
    Pickle& get(uint8_t i) { return op('h').op(i); }
    Pickle& empty_dict() { return op('}'); }
    Pickle& empty_tuple() { return op(')'); }
    Pickle& tuple() { return op('t'); }
    Pickle& reduce() { return op('R'); }
    Pickle& setitems() { return op('u'); }
    Pickle& stop() { return op('.'); }
    // Pushes _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride,
    // False, OrderedDict()).
    Pickle& tensor(const std::string& key, int64_t numel, int64_t offset, const std::vector<int64_t>& size,
                   const std::vector<int64_t>& stride, const std::string& storage_type = "FloatStorage");
};

// {'w': tensor(...)} in one call: a complete data.pkl for a one-tensor state dict.
std::string one_tensor_pickle(const std::string& key, int64_t numel, int64_t offset,
                              const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                              const std::string& storage_type = "FloatStorage");

// Float bytes 0, 1, 2, ... for a storage of n floats.
Bytes float_storage(size_t n);

// Opens bytes as a checkpoint; returns the error code, or nullopt-like -1 when it loaded.
// Any exception other than rv::Error fails the calling test through a rethrow.
int open_code(const Bytes& bytes, const std::string& name = "mem.pth", std::string* message = nullptr);

}  // namespace rv::test::wt
