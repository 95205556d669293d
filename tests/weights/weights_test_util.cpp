// Helpers for the vision/weights tests. Layer: tests.
#include "tests/weights/weights_test_util.h"

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "vision/weights/zip_reader.h"

namespace rv::test::wt {

std::string fixture(const std::string& name) {
    return std::string(RV_SOURCE_DIR) + "/tests/fixtures/weights/" + name;
}

Bytes read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read test file " + path);
    return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

uint32_t crc32(const uint8_t* p, size_t n) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
            t[i] = c;
        }
        return t;
    }();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
    return ~c;
}

namespace {
void put16(Bytes& b, uint32_t v) {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, v & 0xFFFF);
    put16(b, v >> 16);
}
}  // namespace

Bytes make_zip(const std::vector<ZipFile>& files) {
    Bytes out, cd;
    for (const ZipFile& f : files) {
        const uint32_t offset = static_cast<uint32_t>(out.size());
        const uint32_t crc = crc32(f.data.data(), f.data.size());
        const uint32_t size = static_cast<uint32_t>(f.data.size());
        put32(out, 0x04034b50);
        put16(out, 20);  // version needed
        put16(out, 0);   // flags
        put16(out, 0);   // stored
        put32(out, 0);   // time, date
        put32(out, crc);
        put32(out, size);
        put32(out, size);
        put16(out, static_cast<uint32_t>(f.name.size()));
        put16(out, 0);
        out.insert(out.end(), f.name.begin(), f.name.end());
        out.insert(out.end(), f.data.begin(), f.data.end());

        put32(cd, 0x02014b50);
        put16(cd, 20);
        put16(cd, 20);
        put16(cd, 0);
        put16(cd, 0);
        put32(cd, 0);
        put32(cd, crc);
        put32(cd, size);
        put32(cd, size);
        put16(cd, static_cast<uint32_t>(f.name.size()));
        put16(cd, 0);  // extra
        put16(cd, 0);  // comment
        put16(cd, 0);  // disk
        put16(cd, 0);  // internal attrs
        put32(cd, 0);  // external attrs
        put32(cd, offset);
        cd.insert(cd.end(), f.name.begin(), f.name.end());
    }
    const uint32_t cd_offset = static_cast<uint32_t>(out.size());
    out.insert(out.end(), cd.begin(), cd.end());
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<uint32_t>(files.size()));
    put16(out, static_cast<uint32_t>(files.size()));
    put32(out, static_cast<uint32_t>(cd.size()));
    put32(out, cd_offset);
    put16(out, 0);
    return out;
}

namespace {
void put64(Bytes& b, uint64_t v) {
    put32(b, static_cast<uint32_t>(v));
    put32(b, static_cast<uint32_t>(v >> 32));
}
}  // namespace

Bytes make_zip64(const std::vector<ZipFile>& files) {
    Bytes out, cd;
    for (const ZipFile& f : files) {
        const uint64_t offset = out.size();
        const uint32_t crc = crc32(f.data.data(), f.data.size());
        put32(out, 0x04034b50);
        put16(out, 45);
        put16(out, 0);
        put16(out, 0);
        put32(out, 0);
        put32(out, crc);
        put32(out, static_cast<uint32_t>(f.data.size()));
        put32(out, static_cast<uint32_t>(f.data.size()));
        put16(out, static_cast<uint32_t>(f.name.size()));
        put16(out, 0);
        out.insert(out.end(), f.name.begin(), f.name.end());
        out.insert(out.end(), f.data.begin(), f.data.end());

        put32(cd, 0x02014b50);
        put16(cd, 45);
        put16(cd, 45);
        put16(cd, 0);
        put16(cd, 0);
        put32(cd, 0);
        put32(cd, crc);
        put32(cd, 0xFFFFFFFFu);  // sizes and offset live in the extra field
        put32(cd, 0xFFFFFFFFu);
        put16(cd, static_cast<uint32_t>(f.name.size()));
        put16(cd, 4 + 6 + 24);  // an unrelated extra field first, then zip64
        put16(cd, 0);
        put16(cd, 0);
        put16(cd, 0);
        put32(cd, 0);
        put32(cd, 0xFFFFFFFFu);
        cd.insert(cd.end(), f.name.begin(), f.name.end());
        put16(cd, 0x5455);  // "UT" timestamp field, 2 bytes of payload here
        put16(cd, 2);
        put16(cd, 0);
        put16(cd, 0x0001);
        put16(cd, 24);
        put64(cd, f.data.size());
        put64(cd, f.data.size());
        put64(cd, offset);
    }
    const uint64_t cd_offset = out.size();
    out.insert(out.end(), cd.begin(), cd.end());
    const uint64_t rec = out.size();
    put32(out, 0x06064b50);
    put64(out, 44);
    put16(out, 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, files.size());
    put64(out, files.size());
    put64(out, cd.size());
    put64(out, cd_offset);
    put32(out, 0x07064b50);
    put32(out, 0);
    put64(out, rec);
    put32(out, 1);
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, 0xFFFF);
    put16(out, 0xFFFF);
    put32(out, 0xFFFFFFFFu);
    put32(out, 0xFFFFFFFFu);
    put16(out, 0);
    return out;
}

Bytes pickle_of(const Bytes& pth) {
    weights::ZipReader zip(pth.data(), pth.size(), "fixture");
    for (const weights::ZipEntry& e : zip.entries()) {
        if (e.name.size() > 9 && e.name.substr(e.name.size() - 9) == "/data.pkl") {
            std::unique_ptr<uint8_t[]> owned;
            auto span = zip.read(e, owned, true);
            return Bytes(span.begin(), span.end());
        }
    }
    throw std::runtime_error("fixture has no data.pkl");
}

Bytes torch_zip(const std::string& pkl, const std::vector<std::pair<std::string, Bytes>>& storages,
                const std::string& prefix) {
    std::vector<ZipFile> files;
    files.push_back({prefix + "/data.pkl", to_bytes(pkl)});
    for (const auto& [key, data] : storages) files.push_back({prefix + "/data/" + key, data});
    files.push_back({prefix + "/version", to_bytes("3\n")});
    return make_zip(files);
}

Pickle& Pickle::str(const std::string& s) {
    op('X');
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int k = 0; k < 4; ++k) op(static_cast<uint8_t>(n >> (8 * k)));
    return raw(s);
}

Pickle& Pickle::integer(int64_t v) {
    if (v >= 0 && v < 256) return op('K').op(static_cast<uint8_t>(v));
    if (v >= INT32_MIN && v <= INT32_MAX) {
        op('J');
        for (int k = 0; k < 4; ++k) op(static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * k)));
        return *this;
    }
    op(0x8a).op(8);
    for (int k = 0; k < 8; ++k) op(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * k)));
    return *this;
}

Pickle& Pickle::global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
}

Pickle& Pickle::tensor(const std::string& key, int64_t numel, int64_t offset,
                       const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                       const std::string& storage_type) {
    global("torch._utils", "_rebuild_tensor_v2");
    mark();
    mark().str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel).tuple();
    op('Q');  // BINPERSID
    integer(offset);
    mark();
    for (int64_t s : size) integer(s);
    tuple();
    mark();
    for (int64_t s : stride) integer(s);
    tuple();
    op(0x89);  // False
    global("collections", "OrderedDict").empty_tuple().reduce();
    tuple();
    return reduce();
}

std::string one_tensor_pickle(const std::string& key, int64_t numel, int64_t offset,
                              const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                              const std::string& storage_type) {
    Pickle p;
    p.proto().empty_dict().str("w").tensor(key, numel, offset, size, stride, storage_type).op('s').stop();
    return p.b;
}

Bytes float_storage(size_t n) {
    Bytes b(n * 4);
    for (size_t i = 0; i < n; ++i) {
        const float f = static_cast<float>(i);
        std::memcpy(b.data() + 4 * i, &f, 4);
    }
    return b;
}

int open_code(const Bytes& bytes, const std::string& name, std::string* message) {
    try {
        weights::WeightStore s = weights::WeightStore::from_bytes(bytes, name);
        for (const std::string& k : s.keys()) (void)s.get(k);  // touch every byte we would hand out
        return -1;
    } catch (const rv::Error& e) {
        if (message) *message = e.what();
        return static_cast<int>(e.code());
    }
}

}  // namespace rv::test::wt
