// oneDNN (v2 API) implementation of ops::Linear: packed weights, cached primitives, fused post-ops,
// user-managed scratchpad. Layer: vision/ops/onednn.
#include <atomic>
#include <cmath>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "vision/core/cpu_features.h"
#include "vision/core/error.h"
#include "vision/ops/linear.h"
#include "vision/ops/onednn/runtime.h"

namespace rv::ops {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

constexpr size_t kAlign = 64;
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Round-to-nearest-even fp32 -> bf16 (what oneDNN's reorder and PyTorch's .bfloat16() do).
void to_bf16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, &x[i], sizeof(u));
        if ((u & 0x7fffffffu) > 0x7f800000u) {
            y[i] = static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays a (quiet) NaN
        } else {
            u += 0x7fffu + ((u >> 16) & 1u);
            y[i] = static_cast<uint16_t>(u >> 16);
        }
    }
}

// Primitives differ by row count and by which post-ops are fused (the tensors they read are
// bound at execution, so one primitive serves every call with the same structure).
using Key = std::tuple<int64_t, int64_t, int, bool, bool, bool>;
Key make_key(int64_t M, int64_t ldy, const PostOps& p) {
    return {M, ldy, static_cast<int>(p.act), p.mul != nullptr, p.scale != nullptr, p.accumulate};
}

struct Packed {
    memory::desc md;
    memory mem;
};

struct Prim {
    dnnl::matmul prim;
    memory::desc weights_md;
    size_t onednn_scratch = 0;
    int mul_index = -1, scale_index = -1;  // positions of the binary post-ops
    // Post-ops oneDNN could not fuse with a fast implementation, done by our epilogue instead.
    bool epi_act = false, epi_rest = false;
    std::string impl;  // oneDNN's implementation name (e.g. "brg:avx512_core", "gemm:jit")
};

std::atomic<bool> g_fusion_allowed{true};

// The unfused remainder: y = [y_old +] [scale ⊙] [mul ⊙] act(z), [M, N] with row strides ldz (z)
// and ldy (y and mul).
void epilogue(const float* z, int64_t ldz, float* y, int64_t ldy, int64_t M, int64_t N, const PostOps& post,
              bool do_act, bool do_rest) {
    for (int64_t i = 0; i < M; ++i) {
        const float* zr = z + i * ldz;
        float* yr = y + i * ldy;
        const float* mr = post.mul && do_rest ? post.mul + i * ldy : nullptr;
        for (int64_t j = 0; j < N; ++j) {
            float v = zr[j];
            if (do_act) {
                if (post.act == PostOps::Act::kSigmoid) {
                    v = 1.0f / (1.0f + std::exp(-v));
                } else if (post.act == PostOps::Act::kReluSquare) {
                    v = v > 0.0f ? v * v : 0.0f;
                }
            }
            if (do_rest) {
                if (mr) v *= mr[j];
                if (post.scale) v *= post.scale[j];
                if (post.accumulate) v += yr[j];
            }
            yr[j] = v;
        }
    }
}

}  // namespace

const char* precision_name(Precision p) { return p == Precision::kBf16 ? "bf16" : "fp32"; }

Precision parse_precision(const char* name) {
    const std::string s = name ? name : "";
    if (s == "fp32" || s == "f32") return Precision::kF32;
    if (s == "bf16") return Precision::kBf16;
    RV_THROW(ErrorCode::kInvalidArgument, "unknown precision '", s, "': use fp32 or bf16");
}

bool bf16_supported() {
    // Asked of oneDNN itself: a small bf16 matmul must get a fast (non-reference) implementation.
    static const bool supported = [] {
        if (detected_isa() < Isa::kAvx512) return false;
        try {
            const memory::desc a({64, 64}, dt::bf16, tag::ab), b({64, 64}, dt::bf16, tag::any),
                c({64, 64}, dt::f32, tag::ab);
            const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), onednn::engine());
            return std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
        } catch (const dnnl::error&) {
            return false;
        }
    }();
    return supported;
}

struct Linear::Impl {
    Tensor weight;  // [N, K] as given, until packed; seen by oneDNN as [K, N] (tag ba)
    Tensor bias;    // [N] or empty
    bool has_bias = false;
    Precision precision = Precision::kF32;
    mutable std::mutex mutex;
    mutable std::vector<Packed> packed;  // one per weight layout the primitives asked for
    mutable std::map<Key, Prim> prims;

    dt src_type() const { return precision == Precision::kBf16 ? dt::bf16 : dt::f32; }

    // Builds (or finds) the primitive for this shape and post-ops, and the packed weights it needs.
    // Caller holds the mutex.
    const Prim& get(int64_t M, int64_t K, int64_t N, const PostOps& post, int64_t ldy) const {
        const Key key = make_key(M, ldy, post);
        if (auto it = prims.find(key); it != prims.end()) return it->second;
        // Bounded: a folder of images at their own sizes (--no-resize) brings a new M each.
        if (prims.size() >= 128) prims.clear();
        dnnl::engine& eng = onednn::engine();
        const memory::desc src_md({M, K}, src_type(), tag::ab);
        const memory::desc w_any({K, N}, src_type(), tag::any);
        const memory::desc dst_md({M, N}, dt::f32, tag::ab);
        const memory::desc b_md({1, N}, dt::f32, tag::ab);
        const auto desc = has_bias ? dnnl::matmul::desc(src_md, w_any, b_md, dst_md)
                                   : dnnl::matmul::desc(src_md, w_any, dst_md);
        // Fusion levels, best first: everything; the activation only; nothing. Which post-ops a
        // fast implementation supports depends on the CPU (e.g. on AVX2, oneDNN 2.6's gemm-based
        // matmul takes eltwise and sum but not a full-tensor binary multiply, and would fall back to
        // its reference implementation, ~1000x slower): take the first level that is not "ref".
        const bool has_rest = post.mul || post.scale || post.accumulate;
        // A strided output (a column part of a wider matrix, ops::SplitLinear) is computed densely and
        // written by the epilogue: oneDNN 2.6's AVX2 gemm crashed on a strided destination with
        // binary post-ops. The activation stays fused.
        const bool strided = ldy != N;
        const int first_level = !g_fusion_allowed.load() ? 2 : strided ? 1 : 0;
        for (int level = first_level; level <= 2; ++level) {
            if (level == 0 && !has_rest) continue;
            if (level == 1 && post.act == PostOps::Act::kNone && (has_rest || strided)) continue;
            dnnl::post_ops po;
            Prim p;
            int index = 0;
            if (level <= 1) {
                if (post.act == PostOps::Act::kSigmoid) {
                    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
                    ++index;
                } else if (post.act == PostOps::Act::kReluSquare) {
                    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
                    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_square, 0.0f, 0.0f);
                    index += 2;
                }
            }
            if (level == 0) {
                if (post.mul) {
                    po.append_binary(dnnl::algorithm::binary_mul, memory::desc({M, N}, dt::f32, tag::ab));
                    p.mul_index = index++;
                }
                if (post.scale) {
                    po.append_binary(dnnl::algorithm::binary_mul, memory::desc({1, N}, dt::f32, tag::ab));
                    p.scale_index = index++;
                }
                if (post.accumulate) po.append_sum(1.0f);
            }
            dnnl::primitive_attr attr;
            attr.set_post_ops(po);
            attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
            dnnl::matmul::primitive_desc pd;
            try {
                pd = dnnl::matmul::primitive_desc(desc, attr, eng);
            } catch (const dnnl::error& e) {  // no implementation at all for this combination
                if (level < 2) continue;
                RV_THROW(ErrorCode::kUnsupported, "oneDNN has no ", precision_name(precision), " matmul for ",
                         M, "x", K, "x", N, " on this CPU: ", e.what());
            }
            p.impl = pd.impl_info_str();
            if (p.impl.rfind("ref", 0) == 0 && level < 2) continue;
            p.epi_act = level == 2 && post.act != PostOps::Act::kNone;
            p.epi_rest = level >= 1 && has_rest;
            p.prim = dnnl::matmul(pd);
            p.weights_md = pd.weights_desc();
            p.onednn_scratch = pd.scratchpad_desc().get_size();
            pack_for(p.weights_md, K, N);
            return prims.emplace(key, std::move(p)).first->second;
        }
        RV_THROW(ErrorCode::kInternal, "no matmul primitive for ", M, "x", K, "x", N);
    }

    // Makes sure weights in layout `md` exist: reordered from the plain copy or from another
    // packed layout (the plain copy is dropped after the first packing to save memory).
    const memory& pack_for(const memory::desc& md, int64_t K, int64_t N) const {
        for (const Packed& pk : packed)
            if (pk.md == md) return pk.mem;
        dnnl::engine& eng = onednn::engine();
        dnnl::stream strm(eng);
        memory dst(md, eng);
        if (packed.empty()) {
            RV_ASSERT(!weight.empty());
            memory plain(memory::desc({K, N}, dt::f32, tag::ba), eng, const_cast<float*>(weight.data()));
            dnnl::reorder(plain, dst).execute(strm, plain, dst);
        } else {
            memory src = packed.front().mem;
            dnnl::reorder(src, dst).execute(strm, src, dst);
        }
        strm.wait();
        packed.push_back({md, dst});
        return packed.back().mem;
    }
};

Linear::Linear() : impl_(std::make_unique<Impl>()) {}
Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

void Linear::set_weights(const Tensor& weight, const Tensor* bias) {
    RV_CHECK(weight.ndim() == 2, ErrorCode::kShapeMismatch, "Linear weight must be 2-D, got ",
             shape_str(weight.shape()));
    out_ = weight.dim(0);
    in_ = weight.dim(1);
    impl_ = std::make_unique<Impl>();
    impl_->weight = weight.clone();
    if (bias) {
        RV_CHECK(bias->numel() == out_, ErrorCode::kShapeMismatch, "Linear bias has ", bias->numel(),
                 " elements, expected ", out_);
        impl_->bias = bias->clone();
        impl_->has_bias = true;
    }
}

void Linear::prepare(Precision precision) {
    RV_ASSERT(in_ > 0 && out_ > 0);
    RV_CHECK(precision == Precision::kF32 || bf16_supported(), ErrorCode::kUnsupported,
             "bf16 matmuls are not available on this CPU (oneDNN has no fast bf16 kernel for ",
             isa_name(detected_isa()), "; they need AVX-512): use fp32");
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->precision != precision) {
        // Repacking from a packed copy of another precision would round twice; keep it simple:
        // switching precision needs the plain weights, which are gone once packed.
        RV_CHECK(impl_->packed.empty(), ErrorCode::kInvalidArgument,
                 "a model's precision is chosen once, before its first forward pass");
        impl_->precision = precision;
        impl_->prims.clear();
    }
    // A representative row count: the layout oneDNN picks for the weights does not depend on it in
    // practice; should another shape want another layout, it is reordered from this one.
    impl_->get(256, in_, out_, PostOps{}, out_);
    impl_->weight = Tensor();
}

Precision Linear::precision() const { return impl_->precision; }

size_t Linear::weight_bytes() const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    size_t n = static_cast<size_t>(impl_->weight.numel()) * sizeof(float);
    for (const Packed& p : impl_->packed) n += p.md.get_size();
    return n;
}

size_t Linear::scratch_bytes(int64_t M, const PostOps& post, int64_t ldy) const {
    if (M <= 0) return 0;
    if (ldy <= 0) ldy = out_;
    std::lock_guard<std::mutex> lock(impl_->mutex);
    const Prim& p = impl_->get(M, in_, out_, post, ldy);
    size_t n = align_up(p.onednn_scratch);
    if (impl_->precision == Precision::kBf16) n += align_up(static_cast<size_t>(M * in_) * sizeof(uint16_t));
    if ((p.epi_rest && post.accumulate) || ldy != out_)
        n += align_up(static_cast<size_t>(M * out_) * sizeof(float));
    return n;
}

void Linear::forward(const float* x, int64_t M, float* y, const PostOps& post, void* scratch,
                     int64_t ldy) const {
    RV_ASSERT(in_ > 0 && out_ > 0);
    if (M <= 0) return;
    if (ldy <= 0) ldy = out_;
    RV_ASSERT(ldy >= out_);
    dnnl::matmul prim;
    memory weights;
    size_t onednn_scratch = 0;
    int mul_index = -1, scale_index = -1;
    bool epi_act = false, epi_rest = false;
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        const Prim& p = impl_->get(M, in_, out_, post, ldy);
        prim = p.prim;
        weights = impl_->pack_for(p.weights_md, in_, out_);
        onednn_scratch = p.onednn_scratch;
        mul_index = p.mul_index;
        scale_index = p.scale_index;
        epi_act = p.epi_act;
        epi_rest = p.epi_rest;
    }
    const bool bf16 = impl_->precision == Precision::kBf16;
    const size_t src_bytes = bf16 ? align_up(static_cast<size_t>(M * in_) * sizeof(uint16_t)) : 0;
    // An unfused residual add, or a strided output, needs the matmul result apart from y.
    const bool separate_out = (epi_rest && post.accumulate) || ldy != out_;
    const size_t out_bytes = separate_out ? align_up(static_cast<size_t>(M * out_) * sizeof(float)) : 0;
    std::vector<std::byte> own;
    auto* base = static_cast<std::byte*>(scratch);
    if (!base) {
        own.resize(src_bytes + align_up(onednn_scratch) + out_bytes + kAlign);
        const auto addr = reinterpret_cast<uintptr_t>(own.data());
        base = own.data() + (align_up(addr) - addr);
    }
    dnnl::engine& eng = onednn::engine();
    const void* src_ptr = x;
    if (bf16) {
        to_bf16(x, reinterpret_cast<uint16_t*>(base), M * in_);
        src_ptr = base;
    }
    memory src_mem(memory::desc({M, in_}, bf16 ? dt::bf16 : dt::f32, tag::ab), eng,
                   const_cast<void*>(src_ptr));
    float* z = separate_out ? reinterpret_cast<float*>(base + src_bytes + align_up(onednn_scratch)) : y;
    const int64_t ldz = separate_out ? out_ : ldy;
    memory dst_mem(memory::desc({M, out_}, dt::f32, memory::dims{ldz, 1}), eng, z);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst_mem}};
    if (impl_->has_bias)
        args.insert(
            {DNNL_ARG_BIAS, memory(memory::desc({1, out_}, dt::f32, tag::ab), eng, impl_->bias.data())});
    if (onednn_scratch > 0)
        args.insert(
            {DNNL_ARG_SCRATCHPAD, memory(memory::desc({static_cast<int64_t>(onednn_scratch)}, dt::u8, tag::a),
                                         eng, base + src_bytes)});
    if (mul_index >= 0)
        args.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(mul_index) | DNNL_ARG_SRC_1,
                     memory(memory::desc({M, out_}, dt::f32, memory::dims{ldy, 1}), eng,
                            const_cast<float*>(post.mul))});
    if (scale_index >= 0)
        args.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(scale_index) | DNNL_ARG_SRC_1,
                     memory(memory::desc({1, out_}, dt::f32, tag::ab), eng, const_cast<float*>(post.scale))});
    dnnl::stream strm(eng);
    prim.execute(strm, args);
    strm.wait();
    if (epi_act || epi_rest || separate_out) epilogue(z, ldz, y, ldy, M, out_, post, epi_act, epi_rest);
}

void set_matmul_fusion(bool allowed) { g_fusion_allowed = allowed; }

std::string Linear::implementation(int64_t M, const PostOps& post) const {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    const Prim& p = impl_->get(M, in_, out_, post, out_);
    std::string s = p.impl;
    if (p.epi_act || p.epi_rest) s += " + epilogue";
    return s;
}

}  // namespace rv::ops
