// PyTorch zip checkpoint reader. Layer: vision/weights. See pth_reader.h.
#include "vision/weights/pth_reader.h"

#include <cstring>
#include <map>
#include <new>
#include <span>

#include "vision/core/error.h"
#include "vision/core/limits.h"
#include "vision/weights/pickle_reader.h"
#include "vision/weights/zip_reader.h"

namespace rv::weights {

namespace {

using pickle::Kind;
using pickle::Value;

const Value* lookup(const Value& dict, const std::string& key) {
    const Value* found = nullptr;  // last one wins, as in a Python dict
    for (const auto& [k, v] : dict.entries)
        if (k->kind == Kind::kStr && k->s == key) found = v;
    return found;
}

size_t tensor_count(const Value& dict) {
    size_t n = 0;
    for (const auto& [k, v] : dict.entries)
        if (k->kind == Kind::kStr && v->kind == Kind::kTensor) ++n;
    return n;
}

std::string top_level_keys(const Value& dict) {
    std::string s;
    size_t shown = 0;
    for (const auto& [k, v] : dict.entries) {
        if (k->kind != Kind::kStr) continue;
        if (shown == 20) return s + ", ...";
        s += (shown++ ? ", '" : "'") + k->s + "'";
    }
    return s.empty() ? "(none)" : s;
}

// Copies a strided tensor into row-major order, one element (or one contiguous row) at a time.
// The multi-index counter keeps this iterative whatever the rank.
void gather(const uint8_t* base, const Shape& shape, const std::vector<int64_t>& strides, size_t item,
            uint8_t* out) {
    const size_t nd = shape.size();
    const bool rows = nd > 0 && strides[nd - 1] == 1;
    const size_t run = rows ? static_cast<size_t>(shape[nd - 1]) : 1;
    const size_t outer_dims = rows ? nd - 1 : nd;
    std::vector<int64_t> idx(outer_dims, 0);
    const int64_t total = shape_numel(shape);
    for (int64_t done = 0; done < total; done += static_cast<int64_t>(run)) {
        uint64_t off = 0;
        for (size_t d = 0; d < outer_dims; ++d) off += static_cast<uint64_t>(idx[d] * strides[d]);
        std::memcpy(out, base + off * item, run * item);
        out += run * item;
        for (size_t d = outer_dims; d-- > 0;) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
    }
}

bool is_contiguous(const Shape& shape, const std::vector<int64_t>& strides) {
    int64_t expected = 1;
    for (size_t d = shape.size(); d-- > 0;) {
        if (shape[d] != 1 && strides[d] != expected) return false;
        expected *= shape[d];
    }
    return true;
}

std::unique_ptr<uint8_t[]> allocate(uint64_t n, const std::string& path, const std::string& what) {
    // A strided view (stride 0) of a tiny storage can declare a huge shape; refuse before allocating.
    RV_CHECK(n <= static_cast<uint64_t>(limits().max_tensor_bytes), ErrorCode::kLimit, "'", path, "': ", what,
             " needs ", n, " bytes, more than the limit of ", limits().max_tensor_bytes,
             " bytes per tensor (raise it with --max-tensor-bytes or RV_MAX_TENSOR_BYTES)");
    try {
        return std::unique_ptr<uint8_t[]>(new uint8_t[n == 0 ? 1 : n]);
    } catch (const std::bad_alloc&) {
        RV_THROW(ErrorCode::kLimit, "'", path, "': out of memory for ", what, " (", n, " bytes)");
    }
}

}  // namespace

PthContents read_pth(const uint8_t* data, size_t size, const std::string& path,
                     const std::string& wrapper_key) {
    ZipReader zip(data, size, path);

    // torch names every record "<archive>/<record>", <archive> being the first entry's folder.
    const std::string& first = zip.entries().front().name;
    const size_t slash = first.find('/');
    RV_CHECK(slash != std::string::npos && slash > 0, ErrorCode::kCorruptFile, "'", path,
             "' is a zip archive but not a PyTorch checkpoint (entry '", first, "' is not inside a folder)");
    const std::string prefix = first.substr(0, slash + 1);
    if (zip.find(prefix + "constants.pkl") != nullptr || zip.find(prefix + "code/") != nullptr)
        RV_THROW(ErrorCode::kUnsupported, "'", path,
                 "' is a TorchScript archive (torch.jit.save); save the weights with "
                 "torch.save(model.state_dict(), f) instead");
    const ZipEntry* pkl = zip.find(prefix + "data.pkl");
    RV_CHECK(pkl != nullptr, ErrorCode::kCorruptFile, "'", path, "' is a zip archive without '", prefix,
             "data.pkl', so not a PyTorch checkpoint");
    if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
        std::unique_ptr<uint8_t[]> tmp;
        std::span<const uint8_t> b = zip.read(*bo, tmp, true);
        const std::string order(reinterpret_cast<const char*>(b.data()), b.size());
        RV_CHECK(order == "little", ErrorCode::kUnsupported, "'", path, "' stores tensors in '", order,
                 "' byte order; only little-endian checkpoints are supported");
    }
    if (const ZipEntry* ver = zip.find(prefix + "version")) {
        // torch writes the archive format version ("3\n"); a readable small number is all we need.
        std::unique_ptr<uint8_t[]> tmp;
        std::span<const uint8_t> v = zip.read(*ver, tmp, true);
        bool digits = !v.empty() && v.size() <= 16;
        for (size_t i = 0; digits && i < v.size(); ++i)
            digits = (v[i] >= '0' && v[i] <= '9') || (i + 1 == v.size() && v[i] == '\n');
        RV_CHECK(digits, ErrorCode::kCorruptFile, "'", path,
                 "': the archive's version record is not a number");
    }
    RV_CHECK(pkl->size <= kMaxPickleBytes, ErrorCode::kLimit, "'", path, "': ", pkl->name, " has ", pkl->size,
             " bytes, more than the limit of ", kMaxPickleBytes);

    PthContents out;
    std::unique_ptr<pickle::Unpickled> up;
    {
        std::unique_ptr<uint8_t[]> pkl_owned;
        std::span<const uint8_t> pkl_bytes = zip.read(*pkl, pkl_owned, /*verify_crc=*/true);
        up = pickle::unpickle(pkl_bytes.data(), pkl_bytes.size(), "'" + path + "' (" + pkl->name + ")");
    }

    // Every storage the pickle refers to must exist with exactly the declared number of bytes.
    std::vector<const ZipEntry*> storage_entries;
    for (const pickle::StorageRef& s : up->storages) {
        const ZipEntry* e = zip.find(prefix + "data/" + s.key);
        RV_CHECK(e != nullptr, ErrorCode::kCorruptFile, "'", path, "': storage '", s.key, "' (", prefix,
                 "data/", s.key, ") is missing from the archive");
        if (s.supported) {
            const uint64_t want = s.numel * dtype_size(s.dtype);
            RV_CHECK(e->size == want, ErrorCode::kCorruptFile, "'", path, "': storage '", s.key, "' of ",
                     s.numel, " ", dtype_name(s.dtype), " elements needs ", want,
                     " bytes but the archive entry has ", e->size);
        }
        storage_entries.push_back(e);
    }

    // Pick the state dict.
    const Value& root = *up->root;
    RV_CHECK(root.kind == Kind::kDict, ErrorCode::kUnsupported, "'", path,
             "' does not hold a dict at the top level (was a whole model pickled? save model.state_dict())");
    const Value* sd = nullptr;
    if (!wrapper_key.empty()) {
        const Value* v = lookup(root, wrapper_key);
        RV_CHECK(v != nullptr && v->kind == Kind::kDict && tensor_count(*v) > 0, ErrorCode::kNotFound, "'",
                 path, "' has no state dict under '", wrapper_key,
                 "'; top-level keys: ", top_level_keys(root));
        sd = v;
        out.wrapper = wrapper_key;
    } else {
        for (const char* w : {"state_dict", "model", "model_ema"}) {
            const Value* v = lookup(root, w);
            if (v != nullptr && v->kind == Kind::kDict && tensor_count(*v) > 0) {
                sd = v;
                out.wrapper = w;
                break;
            }
        }
        if (sd == nullptr) {
            RV_CHECK(tensor_count(root) > 0, ErrorCode::kNotFound, "'", path,
                     "' holds no tensors at the top level nor under 'state_dict', 'model' or 'model_ema'; "
                     "top-level keys: ",
                     top_level_keys(root));
            sd = &root;
        }
    }

    // Materialise the chosen tensors (only these: optimizer state and the like are never read).
    std::vector<std::span<const uint8_t>> storage_bytes(up->storages.size());
    std::vector<bool> storage_loaded(up->storages.size(), false);
    std::map<std::string, size_t> position;  // key -> index in out.tensors (a repeated key replaces)
    for (const auto& [k, v] : sd->entries) {
        if (k->kind != Kind::kStr || v->kind != Kind::kTensor) continue;
        const pickle::TensorRef& t = up->tensors[static_cast<size_t>(v->i)];
        const pickle::StorageRef& s = up->storages[t.storage];
        RV_CHECK(s.supported, ErrorCode::kUnsupported, "'", path, "': tensor '", k->s, "' is stored as ",
                 s.type_name, ", which is not supported");
        if (!storage_loaded[t.storage]) {
            std::unique_ptr<uint8_t[]> owned;
            storage_bytes[t.storage] = zip.read(*storage_entries[t.storage], owned, /*verify_crc=*/false);
            if (owned) out.buffers.push_back(std::move(owned));
            storage_loaded[t.storage] = true;
        }
        const size_t item = dtype_size(s.dtype);
        const uint8_t* base = storage_bytes[t.storage].data() + t.offset * item;
        TensorEntry e;
        e.dtype = s.dtype;
        e.shape = t.shape;
        e.nbytes = static_cast<size_t>(shape_numel(t.shape)) * item;
        if (e.nbytes == 0) {
            e.data = nullptr;
        } else if (is_contiguous(t.shape, t.strides)) {
            e.data = base;
        } else {
            std::unique_ptr<uint8_t[]> copy = allocate(e.nbytes, path, "tensor '" + k->s + "'");
            gather(base, t.shape, t.strides, item, copy.get());
            e.data = copy.get();
            out.buffers.push_back(std::move(copy));
        }
        auto [it, inserted] = position.try_emplace(k->s, out.tensors.size());
        if (inserted)
            out.tensors.emplace_back(k->s, std::move(e));
        else
            out.tensors[it->second].second = std::move(e);
    }
    return out;
}

}  // namespace rv::weights
