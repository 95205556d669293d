// Damaged checkpoints: every one must end in rv::Error (never a crash, hang, other exception or
// unbounded allocation). Truncations and byte flips are generated from the good fixtures; zip
// structures are patched by hand; the unpickler is fed mutated and hostile streams.
// Layer: tests. PyTorch counterpart: none (torch.load would mostly crash or execute code here).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "tests/weights/weights_test_util.h"
#include "vision/weights/weight_store.h"
#include "vision/weights/zip_reader.h"

namespace rv::weights {
namespace {

using test::wt::Bytes;
using test::wt::fixture;
using test::wt::float_storage;
using test::wt::make_zip;
using test::wt::one_tensor_pickle;
using test::wt::open_code;
using test::wt::read_bytes;
using test::wt::to_bytes;
using test::wt::torch_zip;

constexpr int kLoaded = -1;

// Sanitizer and debug builds run the exhaustive loops ~40x slower; they test every 6th position
// (a different subset per fixture) to keep the suite within seconds. Release tests every byte.
#if defined(__SANITIZE_ADDRESS__) || !defined(NDEBUG)
constexpr size_t kStride = 6;
#else
constexpr size_t kStride = 1;
#endif
int code(ErrorCode c) { return static_cast<int>(c); }

const std::vector<std::string> kGoodFixtures = {
    "bare.pth",     "bare_p4.pth", "mmcls.pth", "mmcls_p4.pth", "internimage.pth",  "ema_both.pth",
    "ema_only.pth", "dtypes.pth",  "views.pth", "deflated.pth", "mixed.safetensors"};

void put32(Bytes& b, size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) b[at + static_cast<size_t>(k)] = static_cast<uint8_t>(v >> (8 * k));
}
void put16(Bytes& b, size_t at, uint32_t v) {
    b[at] = static_cast<uint8_t>(v);
    b[at + 1] = static_cast<uint8_t>(v >> 8);
}
// Offsets of every occurrence of a 4-byte zip signature.
std::vector<size_t> find_sig(const Bytes& b, uint32_t sig) {
    std::vector<size_t> at;
    for (size_t i = 0; i + 4 <= b.size(); ++i) {
        uint32_t v = 0;
        std::memcpy(&v, b.data() + i, 4);
        if (v == sig) at.push_back(i);
    }
    return at;
}

// A valid one-tensor archive: w = arange(6).reshape(2, 3) as float.
Bytes good_archive() {
    return torch_zip(one_tensor_pickle("0", 6, 0, {2, 3}, {3, 1}), {{"0", float_storage(6)}});
}

TEST(Corrupt, BaselineArchiveLoads) {
    WeightStore s = WeightStore::from_bytes(good_archive(), "good.pth");
    const Tensor w = s.take("w", Shape{2, 3});
    for (int i = 0; i < 6; ++i) EXPECT_EQ(w[i], static_cast<float>(i));
    // Any archive folder name works (torch uses the file stem).
    Bytes other =
        torch_zip(one_tensor_pickle("7", 6, 0, {3, 2}, {1, 3}), {{"7", float_storage(6)}}, "my.model-v2");
    const Tensor t = WeightStore::from_bytes(other, "x.pth").get("w");  // transposed view
    EXPECT_EQ(t[1], 3.0f);
    EXPECT_EQ(t[2], 1.0f);
}

TEST(Corrupt, EveryTruncationThrows) {
    size_t cases = 0;
    for (const std::string& name : kGoodFixtures) {
        const Bytes full = read_bytes(fixture(name));
        ASSERT_EQ(open_code(full, name), kLoaded) << name;
        for (size_t len = 0; len < full.size(); ++len) {
            Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
            ASSERT_NE(open_code(cut, name), kLoaded) << name << " truncated to " << len << " bytes loaded";
            ++cases;
        }
    }
    EXPECT_GT(cases, 20000u);
}

TEST(Corrupt, ByteFlipsNeverCrash) {
    size_t loaded = 0, refused = 0;
    for (const std::string& name : kGoodFixtures) {
        const Bytes full = read_bytes(fixture(name));
        // Bytes whose damage must be detected: zip signatures of headers, and for archives every
        // byte of data.pkl (CRC-checked) and of deflated entries (CRC and inflate checked).
        std::vector<bool> must_fail(full.size(), false);
        if (name.ends_with(".pth")) {
            for (uint32_t sig : {0x04034b50u, 0x02014b50u, 0x06054b50u})
                for (size_t at : find_sig(full, sig))
                    for (size_t k = 0; k < 4; ++k) must_fail[at + k] = true;
            ZipReader zip(full.data(), full.size(), name);
            for (const ZipEntry& e : zip.entries())
                if (e.method == 8 || e.name.ends_with("/data.pkl"))
                    for (uint64_t k = 0; k < e.compressed_size; ++k) must_fail[e.data_offset + k] = true;
        }
        for (size_t i = name.size() % kStride; i < full.size(); i += kStride) {
            Bytes b = full;
            b[i] ^= 0xFF;
            const int c = open_code(b, name);
            if (must_fail[i]) {
                ASSERT_NE(c, kLoaded) << name << ": flipped byte " << i << " went unnoticed";
            }
            (c == kLoaded ? loaded : refused)++;
        }
    }
    EXPECT_GT(refused, 1000u / kStride);
    EXPECT_GT(loaded, 1000u / kStride);  // flips inside tensor data or padding are legitimately invisible
}

// Rebuilds each fixture's archive around a mutated data.pkl (with a valid CRC), so damage reaches
// the unpickler and the storage checks instead of being caught by the CRC.
TEST(Corrupt, PickleMutationsNeverCrash) {
    size_t cases = 0, loaded = 0;
    for (const std::string& name : kGoodFixtures) {
        if (!name.ends_with(".pth")) continue;
        const Bytes full = read_bytes(fixture(name));
        ZipReader zip(full.data(), full.size(), name);
        std::vector<test::wt::ZipFile> files;
        size_t pkl_index = 0;
        for (const ZipEntry& e : zip.entries()) {
            std::unique_ptr<uint8_t[]> owned;
            auto span = zip.read(e, owned, true);
            if (e.name.ends_with("/data.pkl")) pkl_index = files.size();
            files.push_back({e.name, Bytes(span.begin(), span.end())});
        }
        const Bytes pkl = files[pkl_index].data;
        ASSERT_EQ(open_code(make_zip(files), name), kLoaded) << name;
        for (size_t i = name.size() % kStride; i < pkl.size(); i += kStride) {
            for (int m = 0; m < 3; ++m) {
                Bytes p = pkl;
                if (m == 0)
                    p[i] ^= 0xFF;
                else if (m == 1)
                    p[i] ^= 0x01;
                else
                    p.resize(i);  // every truncation of the stream
                files[pkl_index].data = p;
                const int c = open_code(make_zip(files), name);
                if (m == 2) {
                    ASSERT_NE(c, kLoaded) << name << ": pickle truncated at " << i << " loaded";
                }
                loaded += c == kLoaded;
                ++cases;
            }
        }
    }
    EXPECT_GT(cases, 20000u / kStride);
    EXPECT_GT(loaded, 0u);
}

TEST(Corrupt, ZipStructure) {
    const Bytes good = good_archive();
    const size_t eocd = find_sig(good, 0x06054b50).back();
    const std::vector<size_t> cds = find_sig(good, 0x02014b50);
    const std::vector<size_t> locals = find_sig(good, 0x04034b50);
    ASSERT_EQ(cds.size(), 3u);
    struct Case {
        const char* what;
        std::function<void(Bytes&)> patch;
        ErrorCode expect;
    };
    const std::vector<Case> cases = {
        {"entry count beyond the directory",
         [&](Bytes& b) {
             put16(b, eocd + 8, 0xFFFE);
             put16(b, eocd + 10, 0xFFFE);
         },
         ErrorCode::kCorruptFile},
        {"saturated count without zip64",
         [&](Bytes& b) {
             put16(b, eocd + 8, 0xFFFF);
             put16(b, eocd + 10, 0xFFFF);
         },
         ErrorCode::kCorruptFile},
        {"zero entries",
         [&](Bytes& b) {
             put16(b, eocd + 8, 0);
             put16(b, eocd + 10, 0);
         },
         ErrorCode::kCorruptFile},
        {"directory offset past the end", [&](Bytes& b) { put32(b, eocd + 16, 0xFFFFFFF0u); },
         ErrorCode::kCorruptFile},
        {"directory size past the end", [&](Bytes& b) { put32(b, eocd + 12, 0x7FFFFFFFu); },
         ErrorCode::kCorruptFile},
        {"multi-disk", [&](Bytes& b) { put16(b, eocd + 4, 1); }, ErrorCode::kUnsupported},
        {"count mismatch between disks", [&](Bytes& b) { put16(b, eocd + 8, 2); }, ErrorCode::kUnsupported},
        {"comment length past the end", [&](Bytes& b) { put16(b, eocd + 20, 5); }, ErrorCode::kCorruptFile},
        {"bzip2 method", [&](Bytes& b) { put16(b, cds[0] + 10, 12); }, ErrorCode::kUnsupported},
        {"encrypted flag", [&](Bytes& b) { put16(b, cds[0] + 8, 1); }, ErrorCode::kUnsupported},
        {"AES method", [&](Bytes& b) { put16(b, cds[1] + 10, 99); }, ErrorCode::kUnsupported},
        {"stored sizes differ", [&](Bytes& b) { put32(b, cds[0] + 20, 5); }, ErrorCode::kCorruptFile},
        {"huge sizes",
         [&](Bytes& b) {
             put32(b, cds[1] + 20, 0xFFFFFFF0u);
             put32(b, cds[1] + 24, 0xFFFFFFF0u);
         },
         ErrorCode::kCorruptFile},
        {"zip64 sizes without extra field", [&](Bytes& b) { put32(b, cds[1] + 24, 0xFFFFFFFFu); },
         ErrorCode::kCorruptFile},
        {"deflate ratio impossible",
         [&](Bytes& b) {
             put16(b, cds[1] + 10, 8);
             put16(b, locals[1] + 8, 8);
             put32(b, cds[1] + 24, 0x7FFFFFFFu);
         },
         ErrorCode::kCorruptFile},
        {"garbage deflate stream",
         [&](Bytes& b) {
             put16(b, cds[1] + 10, 8);
             put16(b, locals[1] + 8, 8);
         },
         ErrorCode::kCorruptFile},
        {"local offset past the directory", [&](Bytes& b) { put32(b, cds[2] + 42, 0x7FFFFFF0u); },
         ErrorCode::kCorruptFile},
        {"local offset pointing at the wrong header",
         [&](Bytes& b) { put32(b, cds[2] + 42, static_cast<uint32_t>(locals[1])); }, ErrorCode::kCorruptFile},
        {"name length past the directory", [&](Bytes& b) { put16(b, cds[2] + 28, 0xFFFF); },
         ErrorCode::kCorruptFile},
        {"disk start", [&](Bytes& b) { put16(b, cds[0] + 34, 3); }, ErrorCode::kUnsupported},
        {"local signature", [&](Bytes& b) { b[locals[1]] = 'X'; }, ErrorCode::kCorruptFile},
        {"local name differs", [&](Bytes& b) { b[locals[1] + 30] ^= 0x20; }, ErrorCode::kCorruptFile},
        {"local method differs", [&](Bytes& b) { put16(b, locals[0] + 8, 8); }, ErrorCode::kCorruptFile},
        {"local encrypted", [&](Bytes& b) { put16(b, locals[0] + 6, 1); }, ErrorCode::kUnsupported},
        {"local extra length past the data", [&](Bytes& b) { put16(b, locals[2] + 28, 0xFFFF); },
         ErrorCode::kCorruptFile},
        {"central signature", [&](Bytes& b) { b[cds[1] + 1] = 'Q'; }, ErrorCode::kCorruptFile},
        {"pickle CRC", [&](Bytes& b) { b[locals[0] + 30 + 16] ^= 0x40; }, ErrorCode::kCorruptFile},
        {"first bytes", [&](Bytes& b) { b[2] = 9; }, ErrorCode::kCorruptFile},
    };
    for (const Case& c : cases) {
        Bytes b = good;
        c.patch(b);
        std::string msg;
        EXPECT_EQ(open_code(b, "patched.pth", &msg), code(c.expect)) << c.what << ": " << msg;
        EXPECT_NE(msg.find("patched.pth"), std::string::npos) << c.what << ": " << msg;
    }
}

TEST(Corrupt, Zip64Fields) {
    const std::vector<test::wt::ZipFile> files = {
        {"archive/data.pkl", to_bytes(one_tensor_pickle("0", 6, 0, {2, 3}, {3, 1}))},
        {"archive/data/0", float_storage(6)}};
    const Bytes good = test::wt::make_zip64(files);
    WeightStore s = WeightStore::from_bytes(good, "z64.pth");
    EXPECT_EQ(s.get("w")[5], 5.0f);

    const size_t rec = find_sig(good, 0x06064b50).back();
    const size_t loc = find_sig(good, 0x07064b50).back();
    const std::vector<size_t> cds = find_sig(good, 0x02014b50);
    const size_t z64_extra = cds[0] + 46 + files[0].name.size() + 6;  // after the "UT" field
    struct Case {
        const char* what;
        std::function<void(Bytes&)> patch;
    };
    const std::vector<Case> cases = {
        {"record signature", [&](Bytes& b) { b[rec] = 'X'; }},
        {"locator signature (record then missing)", [&](Bytes& b) { b[loc] = 'X'; }},
        {"locator offset past the end", [&](Bytes& b) { put32(b, loc + 8, 0x7FFFFFF0u); }},
        {"locator disk", [&](Bytes& b) { put32(b, loc + 4, 2); }},
        {"record entry count huge",
         [&](Bytes& b) {
             put32(b, rec + 32, 0xFFFFFFF0u);
             put32(b, rec + 24, 0xFFFFFFF0u);
         }},
        {"record directory size huge", [&](Bytes& b) { b[rec + 47] = 0x7F; }},
        {"record multi-disk", [&](Bytes& b) { put32(b, rec + 16, 1); }},
        {"extra field too short", [&](Bytes& b) { put16(b, z64_extra + 2, 8); }},
        {"extra field missing", [&](Bytes& b) { put16(b, z64_extra, 0x7777); }},
        {"extra size beyond the file",
         [&](Bytes& b) {
             b[z64_extra + 4 + 7] = 0x7F;
             b[z64_extra + 4 + 15] = 0x7F;
         }},
        {"extra offset beyond the file", [&](Bytes& b) { b[z64_extra + 4 + 23] = 0x01; }},
    };
    for (const Case& c : cases) {
        Bytes b = good;
        c.patch(b);
        std::string msg;
        EXPECT_NE(open_code(b, "z64.pth", &msg), kLoaded) << c.what;
        EXPECT_NE(msg.find("z64.pth"), std::string::npos) << c.what << ": " << msg;
    }
}

TEST(Corrupt, ArchiveContents) {
    const std::string pkl = one_tensor_pickle("0", 6, 0, {2, 3}, {3, 1});
    auto expect = [](const Bytes& b, ErrorCode c, const char* what, const char* needle = nullptr) {
        std::string msg;
        EXPECT_EQ(open_code(b, "c.pth", &msg), code(c)) << what << ": " << msg;
        if (needle) {
            EXPECT_NE(msg.find(needle), std::string::npos) << what << ": " << msg;
        }
    };
    expect(torch_zip(pkl, {{"0", float_storage(5)}}), ErrorCode::kCorruptFile, "short storage",
           "needs 24 bytes");
    expect(torch_zip(pkl, {{"0", float_storage(7)}}), ErrorCode::kCorruptFile, "long storage");
    expect(torch_zip(pkl, {}), ErrorCode::kCorruptFile, "missing storage", "missing");
    expect(torch_zip(one_tensor_pickle("0", 1ll << 40, 0, {2, 3}, {3, 1}), {{"0", float_storage(6)}}),
           ErrorCode::kCorruptFile, "declared numel huge");
    expect(torch_zip(one_tensor_pickle("0", 6, 1, {2, 3}, {3, 1}), {{"0", float_storage(6)}}),
           ErrorCode::kCorruptFile, "offset pushes past the storage", "reaches past");
    expect(torch_zip(one_tensor_pickle("0", 6, 0, {3, 3}, {3, 1}), {{"0", float_storage(6)}}),
           ErrorCode::kCorruptFile, "shape past the storage");
    expect(torch_zip(one_tensor_pickle("0", 6, 0, {2, 3}, {1ll << 62, 1}), {{"0", float_storage(6)}}),
           ErrorCode::kCorruptFile, "stride overflow");
    expect(torch_zip(one_tensor_pickle("0", 6, 0, {2, -3}, {3, 1}), {{"0", float_storage(6)}}),
           ErrorCode::kCorruptFile, "negative size");
    expect(torch_zip(one_tensor_pickle("0", 6, 0, {1ll << 33, 1ll << 33}, {0, 0}), {{"0", float_storage(6)}}),
           ErrorCode::kLimit, "absurd element count");
    expect(torch_zip(one_tensor_pickle("0", 6, 7, {0}, {1}), {{"0", float_storage(6)}}),
           ErrorCode::kCorruptFile, "empty tensor past the storage");
    // An empty tensor may sit at the very end of its storage.
    EXPECT_EQ(open_code(torch_zip(one_tensor_pickle("0", 6, 6, {0, 3}, {3, 1}), {{"0", float_storage(6)}})),
              kLoaded);
    {
        std::vector<int64_t> many(100, 1);
        expect(torch_zip(one_tensor_pickle("0", 6, 0, many, many), {{"0", float_storage(6)}}),
               ErrorCode::kLimit, "rank 100");
    }
    expect(torch_zip(one_tensor_pickle("0", 6, 0, {2, 3}, {3, 1}, "ComplexFloatStorage"),
                     {{"0", float_storage(12)}}),
           ErrorCode::kUnsupported, "complex storage", "ComplexFloatStorage");
    expect(torch_zip(one_tensor_pickle("0", 6, 0, {2, 3}, {3, 1}, "EvilStorage"), {{"0", float_storage(6)}}),
           ErrorCode::kUnsupported, "unknown storage type", "torch.EvilStorage");

    // Two views of one storage must agree on its size and type.
    test::wt::Pickle p;
    p.proto().empty_dict().mark();
    p.str("a").tensor("0", 6, 0, {6}, {1});
    p.str("b").tensor("0", 5, 0, {5}, {1});
    p.setitems().stop();
    expect(torch_zip(p.b, {{"0", float_storage(6)}}), ErrorCode::kCorruptFile, "storage declared twice",
           "declared twice");

    // Record layout problems.
    expect(make_zip({{"data.pkl", to_bytes(pkl)}}), ErrorCode::kCorruptFile, "entry outside a folder");
    expect(make_zip({{"archive/version", to_bytes("3\n")}}), ErrorCode::kCorruptFile, "no data.pkl",
           "data.pkl");
    expect(make_zip({{"archive/data.pkl", to_bytes(pkl)}, {"archive/data.pkl", to_bytes(pkl)}}),
           ErrorCode::kCorruptFile, "duplicate entries", "two entries");
    expect(make_zip({{"archive/data.pkl", to_bytes(pkl)}, {"archive/constants.pkl", to_bytes(pkl)}}),
           ErrorCode::kUnsupported, "TorchScript", "TorchScript");
    expect(make_zip({{"archive/data.pkl", to_bytes(pkl)},
                     {"archive/byteorder", to_bytes("big")},
                     {"archive/data/0", float_storage(6)}}),
           ErrorCode::kUnsupported, "big endian", "byte order");
    Bytes little = make_zip({{"archive/data.pkl", to_bytes(pkl)},
                             {"archive/byteorder", to_bytes("little")},
                             {"archive/data/0", float_storage(6)}});
    EXPECT_EQ(open_code(little), kLoaded);

    // Top-level objects that are not state dicts.
    test::wt::Pickle list;
    list.proto().op(']').stop();
    expect(torch_zip(list.b, {}), ErrorCode::kUnsupported, "top-level list", "top level");
    test::wt::Pickle nothing;
    nothing.proto().empty_dict().str("epoch").integer(3).op('s').stop();
    expect(torch_zip(nothing.b, {}), ErrorCode::kNotFound, "no tensors", "'epoch'");
}

TEST(Corrupt, DeflatedSizesAreEnforced) {
    const Bytes full = read_bytes(fixture("deflated.pth"));
    ZipReader zip(full.data(), full.size(), "deflated.pth");
    for (size_t at : find_sig(full, 0x02014b50)) {
        const uint32_t declared =
            full[at + 24] | (full[at + 25] << 8) | (full[at + 26] << 16) | (full[at + 27] << 24);
        for (uint32_t wrong : {declared + 1, declared - 1, declared * 2 + 100}) {
            Bytes b = full;
            put32(b, at + 24, wrong);
            EXPECT_NE(open_code(b), kLoaded) << "entry at " << at << " declared " << wrong;
        }
    }
}

// safetensors files made by hand: header JSON, optional data bytes, optional forged length.
Bytes st(const std::string& header, const Bytes& data = {}, int64_t forced_n = -1) {
    Bytes b(8 + header.size() + data.size());
    const uint64_t n = forced_n >= 0 ? static_cast<uint64_t>(forced_n) : header.size();
    std::memcpy(b.data(), &n, 8);
    if (!header.empty()) std::memcpy(b.data() + 8, header.data(), header.size());
    if (!data.empty()) std::memcpy(b.data() + 8 + header.size(), data.data(), data.size());
    return b;
}

TEST(Corrupt, SafetensorsHeaders) {
    const Bytes eight(8, 0);
    const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    ASSERT_EQ(open_code(st(ok, eight), "s.safetensors"), kLoaded);
    ASSERT_EQ(open_code(st("{}"), "s.safetensors"), kLoaded);  // no tensors: valid, empty
    struct Case {
        const char* what;
        Bytes file;
        ErrorCode expect;
    };
    std::string deep = "{\"a\":";
    for (int i = 0; i < 100000; ++i) deep += "[";
    const std::vector<Case> cases = {
        {"header length 2^63", st(ok, eight, int64_t{1} << 62), ErrorCode::kCorruptFile},
        {"header past the end", st(ok, eight, static_cast<int64_t>(ok.size() + 9)), ErrorCode::kCorruptFile},
        {"header length zero", st(ok, eight, 0), ErrorCode::kCorruptFile},
        {"not an object", st("[1,2,3]  "), ErrorCode::kCorruptFile},
        {"invalid JSON", st(R"({"a":{"dtype":"F32",)"), ErrorCode::kCorruptFile},
        {"deep nesting", st(deep), ErrorCode::kCorruptFile},
        {"unknown dtype", st(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", eight),
         ErrorCode::kCorruptFile},
        {"unsupported dtype", st(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", eight),
         ErrorCode::kUnsupported},
        {"negative dim", st(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
         ErrorCode::kCorruptFile},
        {"fractional dim", st(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight),
         ErrorCode::kCorruptFile},
        {"huge shape",
         st(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight),
         ErrorCode::kLimit},
        {"dim beyond int64",
         st(R"({"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}})", eight),
         ErrorCode::kCorruptFile},
        {"reversed offsets", st(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", eight),
         ErrorCode::kCorruptFile},
        {"offsets past the buffer", st(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight),
         ErrorCode::kCorruptFile},
        {"huge offsets",
         st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,0]}})", eight),
         ErrorCode::kCorruptFile},
        {"extent mismatch", st(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}})", eight),
         ErrorCode::kCorruptFile},
        {"overlap",
         st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
            eight),
         ErrorCode::kCorruptFile},
        {"gap", st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight),
         ErrorCode::kCorruptFile},
        {"leftover bytes", st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight),
         ErrorCode::kCorruptFile},
        {"duplicate key",
         st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
            eight),
         ErrorCode::kCorruptFile},
        {"metadata not strings", st(R"({"__metadata__":{"x":1}})"), ErrorCode::kCorruptFile},
        {"metadata not an object", st(R"({"__metadata__":"x"})"), ErrorCode::kCorruptFile},
        {"entry not an object", st(R"({"a":3})"), ErrorCode::kCorruptFile},
        {"no dtype", st(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", eight), ErrorCode::kCorruptFile},
        {"no shape", st(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", eight), ErrorCode::kCorruptFile},
        {"three offsets", st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", eight),
         ErrorCode::kCorruptFile},
        {"negative offset", st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", eight),
         ErrorCode::kCorruptFile},
        {"bad first bytes", to_bytes("GIF89a........."), ErrorCode::kCorruptFile},
    };
    for (const Case& c : cases) {
        std::string msg;
        EXPECT_EQ(open_code(c.file, "s.safetensors", &msg), code(c.expect)) << c.what << ": " << msg;
        EXPECT_NE(msg.find("s.safetensors"), std::string::npos) << c.what << ": " << msg;
    }
}

TEST(Corrupt, SuiteStaysFast) {
    // A loose guard against accidental quadratic behaviour in the readers on big inputs:
    // 200k SETITEMS entries and a 20 MB safetensors file must each load well under a second.
    test::wt::Pickle p;
    p.proto().empty_dict().mark();
    for (int i = 0; i < 200000; ++i) p.str(std::string("k").append(std::to_string(i))).integer(i);
    p.setitems().str("w").tensor("0", 6, 0, {6}, {1}).op('s').stop();
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(open_code(torch_zip(p.b, {{"0", float_storage(6)}})), kLoaded);
    const std::string hdr = R"({"a":{"dtype":"F32","shape":[5000000],"data_offsets":[0,20000000]}})";
    EXPECT_EQ(open_code(st(hdr + std::string((8 - hdr.size() % 8) % 8, ' '), Bytes(20000000, 0)),
                        "big.safetensors"),
              kLoaded);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 10.0);
}

}  // namespace
}  // namespace rv::weights
