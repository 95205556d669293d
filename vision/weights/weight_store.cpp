// WeightStore: format detection, the key index, dtype conversion and the used-key account.
// Layer: vision/weights. See weight_store.h.
#include "vision/weights/weight_store.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "vision/core/error.h"
#include "vision/core/limits.h"
#include "vision/weights/file_bytes.h"
#include "vision/weights/half.h"
#include "vision/weights/pth_reader.h"
#include "vision/weights/safetensors.h"

namespace rv::weights {

std::string dtype_name(DType d) {
    switch (d) {
        case DType::kF32:
            return "F32";
        case DType::kF16:
            return "F16";
        case DType::kBF16:
            return "BF16";
        case DType::kF64:
            return "F64";
        case DType::kI64:
            return "I64";
        case DType::kI32:
            return "I32";
        case DType::kI16:
            return "I16";
        case DType::kI8:
            return "I8";
        case DType::kU8:
            return "U8";
        case DType::kBool:
            return "BOOL";
    }
    return "?";
}

size_t dtype_size(DType d) {
    switch (d) {
        case DType::kF64:
        case DType::kI64:
            return 8;
        case DType::kF32:
        case DType::kI32:
            return 4;
        case DType::kF16:
        case DType::kBF16:
        case DType::kI16:
            return 2;
        case DType::kI8:
        case DType::kU8:
        case DType::kBool:
            return 1;
    }
    return 1;
}

namespace {

// The first bytes of a pre-1.6 torch.save file: pickle PROTO 2 then LONG1 of the magic number
// 0x1950a86a20f9469cfc6c.
constexpr uint8_t kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                    0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));  // entries need not be aligned
    return v;
}

template <typename T>
void widen(const uint8_t* src, float* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load<T>(src + i * sizeof(T)));
}

template <typename ImplPtr>
auto& check_impl(const ImplPtr& impl) {
    RV_CHECK(impl != nullptr, ErrorCode::kInternal, "use of a moved-from WeightStore");
    return *impl;
}

}  // namespace

struct WeightStore::Impl {
    std::string path;
    FileFormat format = FileFormat::kSafetensors;
    std::string wrapper;
    FileBytes bytes;                                  // the file (entries may point into it)
    std::vector<std::unique_ptr<uint8_t[]>> buffers;  // inflated / materialised tensor bytes
    std::vector<Tensor> owned_tensors;                // from_tensors()
    std::map<std::string, TensorEntry> entries;
    std::set<std::string> used;
    std::map<std::string, std::string> metadata;

    void index(std::vector<std::pair<std::string, TensorEntry>> tensors) {
        for (auto& [k, e] : tensors) entries[k] = std::move(e);  // a repeated key: the last one wins
    }
    void load(const std::string& wrapper_key);  // detects the format of `bytes` and indexes it
};

void WeightStore::Impl::load(const std::string& wrapper_key) {
    const uint8_t* d = bytes.data();
    const size_t n = bytes.size();
    RV_CHECK(n > 0, ErrorCode::kCorruptFile, "checkpoint file '", path, "' is empty");
    if (n >= 4 && d[0] == 'P' && d[1] == 'K' && d[2] == 3 && d[3] == 4) {
        format = FileFormat::kPyTorchZip;
        PthContents c = read_pth(d, n, path, wrapper_key);
        wrapper = std::move(c.wrapper);
        buffers = std::move(c.buffers);
        index(std::move(c.tensors));
        return;
    }
    if (n >= sizeof(kLegacyMagic) && std::equal(std::begin(kLegacyMagic), std::end(kLegacyMagic), d))
        RV_THROW(
            ErrorCode::kUnsupported, "'", path,
            "' uses the legacy PyTorch format (torch < 1.6, or _use_new_zipfile_serialization=False), "
            "which is not supported: re-save it with torch >= 1.6 (torch.save(obj, f)), or convert it with "
            "`rwkv-vision convert`");
    if (n >= 2 && d[0] == 'P' && d[1] == 'K')
        RV_THROW(ErrorCode::kCorruptFile, "'", path,
                 "' starts like a zip archive but not with a local file header");
    if (d[0] == 0x80)
        RV_THROW(ErrorCode::kUnsupported, "'", path,
                 "' is a bare pickle, not a PyTorch zip checkpoint; re-save it with torch >= 1.6 "
                 "(torch.save(obj, f))");
    if (looks_like_safetensors(d, n)) {
        RV_CHECK(wrapper_key.empty(), ErrorCode::kInvalidArgument, "'", path,
                 "' is a safetensors file, which has no wrapper key '", wrapper_key, "'");
        format = FileFormat::kSafetensors;
        SafetensorsContents c = read_safetensors(d, n, path);
        metadata = std::move(c.metadata);
        index(std::move(c.tensors));
        return;
    }
    // A '{' where the safetensors header would start: report what is wrong with that header.
    if (n >= 9 && d[8] == '{') read_safetensors(d, n, path);
    RV_THROW(
        ErrorCode::kCorruptFile, "'", path,
        "' is neither a PyTorch zip checkpoint (.pth) nor a safetensors file (unrecognised first bytes)");
}

WeightStore::WeightStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WeightStore::WeightStore(WeightStore&&) noexcept = default;
WeightStore& WeightStore::operator=(WeightStore&&) noexcept = default;
WeightStore::~WeightStore() = default;

WeightStore WeightStore::open(const std::string& path, const std::string& wrapper_key) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->bytes = FileBytes::open(path);
    impl->load(wrapper_key);
    return WeightStore(std::move(impl));
}

WeightStore WeightStore::from_bytes(std::vector<uint8_t> bytes, const std::string& name,
                                    const std::string& wrapper_key) {
    auto impl = std::make_unique<Impl>();
    impl->path = name;
    impl->bytes = FileBytes::from_buffer(std::move(bytes));
    impl->load(wrapper_key);
    return WeightStore(std::move(impl));
}

WeightStore WeightStore::from_tensors(std::vector<std::pair<std::string, Tensor>> tensors,
                                      std::map<std::string, std::string> metadata) {
    auto impl = std::make_unique<Impl>();
    impl->path = "<memory>";
    impl->format = FileFormat::kSafetensors;
    impl->metadata = std::move(metadata);
    impl->owned_tensors.reserve(tensors.size());
    for (auto& [key, t] : tensors) {
        RV_CHECK(!impl->entries.count(key), ErrorCode::kInvalidArgument, "from_tensors: key '", key,
                 "' appears twice");
        TensorEntry e;
        e.dtype = DType::kF32;
        e.shape = t.shape();
        e.nbytes = static_cast<size_t>(t.numel()) * sizeof(float);
        e.data = reinterpret_cast<const uint8_t*>(t.data());  // the heap block survives the move below
        impl->owned_tensors.push_back(std::move(t));
        impl->entries.emplace(key, std::move(e));
    }
    return WeightStore(std::move(impl));
}

const std::string& WeightStore::path() const { return check_impl(impl_).path; }
FileFormat WeightStore::format() const { return check_impl(impl_).format; }
std::string WeightStore::wrapper() const { return check_impl(impl_).wrapper; }

bool WeightStore::contains(const std::string& key) const { return check_impl(impl_).entries.count(key) > 0; }

std::vector<std::string> WeightStore::keys() const {
    std::vector<std::string> out;
    for (const auto& kv : check_impl(impl_).entries) out.push_back(kv.first);
    return out;  // std::map: already sorted
}

const TensorEntry& WeightStore::entry(const std::string& key) const {
    const Impl& impl = check_impl(impl_);
    auto it = impl.entries.find(key);
    if (it == impl.entries.end())
        RV_THROW(ErrorCode::kNotFound, "'", impl.path, "' has no tensor '", key, "' (", impl.entries.size(),
                 " tensors", impl.wrapper.empty() ? "" : " under '" + impl.wrapper + "'", ")");
    return it->second;
}

Tensor WeightStore::get(const std::string& key) const {
    const TensorEntry& e = entry(key);
    // The fp32 copy can be 4x the stored bytes (int8, bool): check before allocating it.
    const int64_t numel = shape_numel(e.shape);
    RV_CHECK(numel <= limits().max_tensor_bytes / int64_t{4}, ErrorCode::kLimit, "'", impl_->path,
             "': tensor '", key, "' of shape ", shape_str(e.shape), " needs ", numel,
             " x 4 bytes as fp32, more than the limit of ", limits().max_tensor_bytes,
             " bytes per tensor (raise it with --max-tensor-bytes or RV_MAX_TENSOR_BYTES)");
    Tensor t(e.shape);
    const size_t n = static_cast<size_t>(t.numel());
    RV_ASSERT(e.nbytes == n * dtype_size(e.dtype));
    if (n == 0) return t;
    float* dst = t.data();
    const uint8_t* src = e.data;
    switch (e.dtype) {
        case DType::kF32:
            std::memcpy(dst, src, n * sizeof(float));
            break;
        case DType::kF16:
            for (size_t i = 0; i < n; ++i) dst[i] = f16_to_float(load<uint16_t>(src + 2 * i));
            break;
        case DType::kBF16:
            for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_float(load<uint16_t>(src + 2 * i));
            break;
        case DType::kF64:
            widen<double>(src, dst, n);
            break;  // rounds to nearest, like .float()
        case DType::kI64:
            widen<int64_t>(src, dst, n);
            break;
        case DType::kI32:
            widen<int32_t>(src, dst, n);
            break;
        case DType::kI16:
            widen<int16_t>(src, dst, n);
            break;
        case DType::kI8:
            widen<int8_t>(src, dst, n);
            break;
        case DType::kU8:
            widen<uint8_t>(src, dst, n);
            break;
        case DType::kBool:
            for (size_t i = 0; i < n; ++i) dst[i] = src[i] != 0 ? 1.0f : 0.0f;
            break;
    }
    return t;
}

Tensor WeightStore::take(const std::string& key, const std::optional<Shape>& expected) {
    const TensorEntry& e = entry(key);
    if (expected && *expected != e.shape)
        RV_THROW(ErrorCode::kShapeMismatch, "'", impl_->path, "': tensor '", key, "' has shape ",
                 shape_str(e.shape), " but the model expects ", shape_str(*expected));
    Tensor t = get(key);
    // A NaN or infinity in a weight would silently turn every output into NaN: a damaged file.
    const float* v = t.data();
    for (int64_t i = 0; i < t.numel(); ++i) {
        RV_CHECK(std::isfinite(v[i]), ErrorCode::kCorruptFile, "'", impl_->path, "': tensor '", key,
                 "' holds ", v[i], " at flat index ", i,
                 "; weights must be finite (the file is damaged or the training diverged)");
    }
    impl_->used.insert(key);
    return t;
}

std::vector<std::string> WeightStore::unused_keys() const {
    const Impl& impl = check_impl(impl_);
    std::vector<std::string> out;
    for (const auto& kv : impl.entries)
        if (!impl.used.count(kv.first)) out.push_back(kv.first);
    return out;
}

void WeightStore::mark_used(const std::string& key) {
    entry(key);  // throws kNotFound for a key the file does not have
    impl_->used.insert(key);
}

void WeightStore::check_all_used() const {
    const std::vector<std::string> unused = unused_keys();
    if (unused.empty()) return;
    std::string list;
    for (size_t i = 0; i < unused.size() && i < 20; ++i) list += (i ? ", '" : "'") + unused[i] + "'";
    if (unused.size() > 20) list += ", ... (" + std::to_string(unused.size() - 20) + " more)";
    RV_THROW(ErrorCode::kShapeMismatch, "'", impl_->path, "' has ", unused.size(),
             " tensor(s) the model does not use: ", list);
}

const std::map<std::string, std::string>& WeightStore::metadata() const { return check_impl(impl_).metadata; }

}  // namespace rv::weights
