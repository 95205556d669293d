// safetensors reader and atomic writer. Layer: vision/weights. See safetensors.h.
#include "vision/weights/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "vision/core/error.h"

namespace rv::weights {

namespace {

static_assert(std::endian::native == std::endian::little, "the readers assume a little-endian host");

uint64_t u64le(const uint8_t* p) {
    uint64_t x = 0;
    for (int k = 7; k >= 0; --k) x = (x << 8) | p[k];
    return x;
}

struct DtypeName {
    const char* name;
    DType dtype;
};
constexpr DtypeName kDtypes[] = {
    {"F32", DType::kF32}, {"F16", DType::kF16},   {"BF16", DType::kBF16}, {"F64", DType::kF64},
    {"I64", DType::kI64}, {"I32", DType::kI32},   {"I16", DType::kI16},   {"I8", DType::kI8},
    {"U8", DType::kU8},   {"BOOL", DType::kBool},
};
// Valid safetensors dtypes we do not convert.
constexpr const char* kOtherDtypes[] = {"F8_E5M2", "F8_E4M3", "U16",     "U32",  "U64",    "C64",
                                        "F4",      "F6_E2M3", "F6_E3M2", "E8M0", "F8_E8M0"};

// Deepest {...} / [...] nesting outside strings; a valid header needs 3.
size_t json_depth(const char* s, size_t n) {
    size_t depth = 0, max_depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < n; ++i) {
        const char c = s[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            max_depth = std::max(max_depth, ++depth);
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return max_depth;
}

[[noreturn]] void bad_entry(const std::string& path, const std::string& key, const char* what) {
    RV_THROW(ErrorCode::kCorruptFile, "'", path, "': tensor '", key, "' has ", what);
}

// Removes the temporary file and reports which step failed.
[[noreturn]] void fail_write(int fd, const std::string& tmp, const std::string& path, const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    RV_THROW(ErrorCode::kIo, "cannot ", what, " '", path, "': ", std::strerror(err));
}

struct Span {
    uint64_t begin, end;
    size_t index;
};

}  // namespace

bool looks_like_safetensors(const uint8_t* data, size_t size) {
    if (size < 9) return false;
    const uint64_t n = u64le(data);
    return n >= 2 && n <= size - 8 && data[8] == '{';
}

SafetensorsContents read_safetensors(const uint8_t* data, size_t size, const std::string& path) {
    using nlohmann::json;
    RV_CHECK(size >= 8, ErrorCode::kCorruptFile, "'", path, "': too small for a safetensors file (", size,
             " bytes)");
    const uint64_t n = u64le(data);
    RV_CHECK(n <= kMaxSafetensorsHeader, ErrorCode::kCorruptFile, "'", path, "': safetensors header of ", n,
             " bytes exceeds the limit of ", kMaxSafetensorsHeader);
    RV_CHECK(n <= size - 8, ErrorCode::kCorruptFile, "'", path, "': safetensors header of ", n,
             " bytes runs past the end of the ", size, "-byte file (truncated?)");
    const char* hdr = reinterpret_cast<const char*>(data + 8);
    RV_CHECK(n >= 2 && hdr[0] == '{', ErrorCode::kCorruptFile, "'", path,
             "': safetensors header does not start with '{'");
    RV_CHECK(json_depth(hdr, static_cast<size_t>(n)) <= 8, ErrorCode::kCorruptFile, "'", path,
             "': safetensors header nests too deeply");
    const json j = json::parse(hdr, hdr + n, nullptr, /*allow_exceptions=*/false);
    RV_CHECK(!j.is_discarded() && j.is_object(), ErrorCode::kCorruptFile, "'", path,
             "': safetensors header is not a valid JSON object");

    const uint8_t* buffer = data + 8 + n;
    const uint64_t buffer_size = size - 8 - n;
    SafetensorsContents out;
    std::vector<Span> spans;
    for (const auto& [key, v] : j.items()) {
        if (key == "__metadata__") {
            RV_CHECK(v.is_object(), ErrorCode::kCorruptFile, "'", path, "': __metadata__ is not an object");
            for (const auto& [mk, mv] : v.items()) {
                RV_CHECK(mv.is_string(), ErrorCode::kCorruptFile, "'", path, "': __metadata__ value of '", mk,
                         "' is not a string");
                out.metadata[mk] = mv.get<std::string>();
            }
            continue;
        }
        if (!v.is_object()) bad_entry(path, key, "a header entry that is not an object");
        auto dt = v.find("dtype");
        auto sh = v.find("shape");
        auto of = v.find("data_offsets");
        if (dt == v.end() || !dt->is_string()) bad_entry(path, key, "no dtype string");
        if (sh == v.end() || !sh->is_array()) bad_entry(path, key, "no shape array");
        if (of == v.end() || !of->is_array() || of->size() != 2 || !(*of)[0].is_number_unsigned() ||
            !(*of)[1].is_number_unsigned())
            bad_entry(path, key, "no data_offsets [begin, end]");

        TensorEntry e;
        const std::string dname = dt->get<std::string>();
        bool known = false;
        for (const DtypeName& d : kDtypes) {
            if (dname == d.name) {
                e.dtype = d.dtype;
                known = true;
            }
        }
        if (!known) {
            for (const char* other : kOtherDtypes)
                RV_CHECK(dname != other, ErrorCode::kUnsupported, "'", path, "': tensor '", key,
                         "' has dtype ", dname, ", which is not supported");
            RV_THROW(ErrorCode::kCorruptFile, "'", path, "': tensor '", key, "' has unknown dtype '", dname,
                     "'");
        }
        for (const json& d : *sh) {
            if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
                bad_entry(path, key, "a shape entry that is not a non-negative integer");
            e.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
        }
        if (e.shape.size() > 64) bad_entry(path, key, "more than 64 dimensions");
        uint64_t numel = 0;
        try {
            numel = static_cast<uint64_t>(shape_numel(e.shape));  // kLimit on absurd shapes
        } catch (const Error& err) {
            RV_THROW(err.code(), "'", path, "': tensor '", key, "': ", err.what());
        }
        const uint64_t begin = (*of)[0].get<uint64_t>(), end = (*of)[1].get<uint64_t>();
        RV_CHECK(begin <= end && end <= buffer_size, ErrorCode::kCorruptFile, "'", path, "': tensor '", key,
                 "' has data_offsets [", begin, ", ", end, "] outside the ", buffer_size,
                 "-byte data buffer");
        RV_CHECK(end - begin == numel * dtype_size(e.dtype), ErrorCode::kCorruptFile, "'", path,
                 "': tensor '", key, "' of shape ", shape_str(e.shape), " and dtype ", dname, " needs ",
                 numel * dtype_size(e.dtype), " bytes but data_offsets span ", end - begin);
        e.nbytes = static_cast<size_t>(end - begin);
        e.data = e.nbytes ? buffer + begin : nullptr;
        spans.push_back({begin, end, out.tensors.size()});
        out.tensors.emplace_back(key, std::move(e));
    }

    // The tensors must tile the buffer: sorted by offset, each starts where the previous ended.
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t cursor = 0;
    for (const Span& s : spans) {
        RV_CHECK(s.begin == cursor, ErrorCode::kCorruptFile, "'", path, "': tensor '",
                 out.tensors[s.index].first, "' starts at byte ", s.begin, " of the data buffer, expected ",
                 cursor, s.begin < cursor ? " (overlapping tensors)" : " (gap between tensors)");
        cursor = s.end;
    }
    RV_CHECK(cursor == buffer_size, ErrorCode::kCorruptFile, "'", path, "': the data buffer has ",
             buffer_size, " bytes but the tensors cover ", cursor);
    return out;
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, const Tensor*>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        nlohmann::ordered_json meta = nlohmann::ordered_json::object();
        for (const auto& [k, v] : metadata) meta[k] = v;
        header["__metadata__"] = std::move(meta);
    }
    std::set<std::string> seen;
    uint64_t offset = 0;
    for (const auto& [key, t] : tensors) {
        RV_CHECK(t != nullptr, ErrorCode::kInvalidArgument, "write_safetensors('", path, "'): tensor '", key,
                 "' is null");
        RV_CHECK(!key.empty() && key != "__metadata__", ErrorCode::kInvalidArgument, "write_safetensors('",
                 path, "'): invalid tensor name '", key, "'");
        RV_CHECK(seen.insert(key).second, ErrorCode::kInvalidArgument, "write_safetensors('", path,
                 "'): tensor name '", key, "' appears twice");
        const uint64_t nbytes = static_cast<uint64_t>(t->numel()) * sizeof(float);
        header[key] = {{"dtype", "F32"}, {"shape", t->shape()}, {"data_offsets", {offset, offset + nbytes}}};
        offset += nbytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data buffer 8-byte aligned, like the reference

    // Write a temporary file next to the target, flush it to disk, then rename over the target, so
    // readers see either the old file or the complete new one.
    static std::atomic<unsigned> counter{0};
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
        tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0)
        RV_THROW(ErrorCode::kIo, "cannot create '", tmp, "' to write '", path, "': ", std::strerror(errno));

    auto write_all = [&](const void* p, size_t n) {
        const char* c = static_cast<const char*>(p);
        while (n > 0) {
            const ssize_t w = ::write(fd, c, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) fail_write(fd, tmp, path, "write");
            c += w;
            n -= static_cast<size_t>(w);
        }
    };
    uint8_t len[8];
    uint64_t n = text.size();
    for (int k = 0; k < 8; ++k) len[k] = static_cast<uint8_t>(n >> (8 * k));
    write_all(len, 8);
    write_all(text.data(), text.size());
    for (const auto& kv : tensors) {
        const Tensor* t = kv.second;
        if (t->numel() > 0) write_all(t->data(), static_cast<size_t>(t->numel()) * sizeof(float));
    }
    if (::fsync(fd) != 0) fail_write(fd, tmp, path, "flush");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        RV_THROW(ErrorCode::kIo, "cannot close '", tmp, "': ", std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        RV_THROW(ErrorCode::kIo, "cannot rename '", tmp, "' to '", path, "': ", std::strerror(err));
    }
    // Make the rename itself durable.
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace rv::weights
