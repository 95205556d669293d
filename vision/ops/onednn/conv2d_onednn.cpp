// oneDNN (v2 API) implementation of ops::Conv2d: weights packed once, one primitive per row-block
// geometry, fused activation and residual (sum post-op), user scratchpad. Layer: vision/ops/onednn.
//
// Row blocks: output rows [oh0, oh1) of one image read input rows [oh0·s − pad_t, (oh1 − 1)·s − pad_t
// + dil·(kh − 1)]; the part of that window outside the image becomes the block's own top / bottom
// zero padding. So a block is an ordinary convolution of a slab of the input, and at most three
// geometries occur per input size (first, interior, last block; plus a shorter last one).
#include <algorithm>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "vision/core/error.h"
#include "vision/core/threading.h"
#include "vision/ops/conv2d.h"
#include "vision/ops/onednn/runtime.h"
#include "vision/ops/ref/conv2d_ref.h"

namespace rv::ops {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

// Multiply-adds per block the row blocks aim at (at least one output row per block): large enough
// that the fixed cost of a call (primitive lookup under the mutex, memory objects, stream) is small,
// small enough that a 256² map is spread over several threads. Measured: 4 M, 16 M and one block per
// image differed by less than the noise except for 3×3 48→48 at 256², where one block per image was
// slowest (benchmarks/RESULTS.md, "Dense ops").
constexpr int64_t kBlockMacs = 4'000'000;

// Per-thread scratch for oneDNN's scratchpad, grown on first use (forward never shares it).
std::byte* thread_scratch(size_t n) {
    thread_local std::vector<std::byte> buf;
    if (buf.size() < n + 64) buf.resize(n + 64);
    const auto addr = reinterpret_cast<uintptr_t>(buf.data());
    return buf.data() + ((64 - addr % 64) % 64);
}

// (slab rows, W, block pad top, block pad bottom, output rows, act, residual)
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int, bool>;

struct Prim {
    dnnl::convolution_forward prim;
    memory::desc weights_md;
    size_t scratch = 0;
    bool epi_act = false;  // activation done by our epilogue (no fast fused implementation)
    bool epi_sum = false;  // residual added by our epilogue
    std::string impl;
};

// Sets this thread's oneDNN (OpenMP) threads to 1 for its lifetime, restoring the old value.
struct OneThread {
    int previous = set_this_thread_onednn_threads(1);
    OneThread() = default;
    OneThread(const OneThread&) = delete;
    OneThread& operator=(const OneThread&) = delete;
    ~OneThread() { set_this_thread_onednn_threads(previous); }
};

// The input rows a block reads, clipped to the image, and the zero padding it needs.
struct Slab {
    int64_t ih0 = 0, rows = 0, pad_t = 0, pad_b = 0;
};

Slab slab_for(const Conv2dShape& s, int64_t H, int64_t oh0, int64_t oh1) {
    const int64_t first = oh0 * s.stride_h - s.pad_t;
    const int64_t last = (oh1 - 1) * s.stride_h - s.pad_t + s.dil_h * (s.kh - 1);
    Slab sl;
    sl.ih0 = std::max<int64_t>(first, 0);
    const int64_t ih1 = std::min<int64_t>(last, H - 1);
    sl.pad_t = sl.ih0 - first;
    sl.pad_b = last - ih1;
    sl.rows = ih1 - sl.ih0 + 1;
    return sl;
}

dnnl::algorithm eltwise_for(Activation a, float& alpha, float& beta) {
    alpha = 0.0f;
    beta = 0.0f;
    switch (a) {
        case Activation::kRelu:
            return dnnl::algorithm::eltwise_relu;
        case Activation::kRelu6:
            beta = 6.0f;
            return dnnl::algorithm::eltwise_clip;
        case Activation::kGelu:
            return dnnl::algorithm::eltwise_gelu_erf;
        case Activation::kSigmoid:
            return dnnl::algorithm::eltwise_logistic;
        case Activation::kSilu:
            alpha = 1.0f;
            return dnnl::algorithm::eltwise_swish;
        case Activation::kHardSwish:
            return dnnl::algorithm::eltwise_hardswish;
        case Activation::kNone:
            break;
    }
    return dnnl::algorithm::undef;
}

}  // namespace

struct Conv2d::Impl {
    Tensor weight;  // [out, in/groups, kh, kw] as given (kept: reference path, repacking)
    Tensor bias;    // [out] or empty
    ConvImpl forced = ConvImpl::kAuto;
    mutable std::mutex mutex;
    mutable std::map<Key, Prim> prims;
    mutable std::vector<std::pair<memory::desc, memory>> packed;

    // The implementation this shape runs with (kAuto resolved).
    ConvImpl resolve() const {
        return forced == ConvImpl::kReference ? ConvImpl::kReference : ConvImpl::kOneDnn;
    }

    const memory& pack_for(const memory::desc& md, const Conv2dShape& s) const {
        for (const auto& p : packed)
            if (p.first == md) return p.second;
        dnnl::engine& eng = onednn::engine();
        dnnl::stream strm(eng);
        memory dst(md, eng);
        const memory::desc plain_md =
            s.groups > 1
                ? memory::desc({s.groups, s.out / s.groups, s.in / s.groups, s.kh, s.kw}, dt::f32, tag::goihw)
                : memory::desc({s.out, s.in, s.kh, s.kw}, dt::f32, tag::oihw);
        memory plain(plain_md, eng, const_cast<float*>(weight.data()));
        dnnl::reorder(plain, dst).execute(strm, plain, dst);
        strm.wait();
        packed.emplace_back(md, dst);
        return packed.back().second;
    }

    // Caller holds the mutex.
    const Prim& get(const Conv2dShape& s, const Slab& sl, int64_t W, int64_t out_rows,
                    const Conv2dPost& post) const {
        const Key key{
            sl.rows, W, sl.pad_t, sl.pad_b, out_rows, static_cast<int>(post.act), post.residual != nullptr};
        if (auto it = prims.find(key); it != prims.end()) return it->second;
        if (prims.size() >= 256) prims.clear();  // bounded: every new input size adds a few
        dnnl::engine& eng = onednn::engine();
        const int64_t OW = s.out_w(W);
        const memory::desc src_md({1, s.in, sl.rows, W}, dt::f32, tag::nhwc);
        const memory::desc dst_md({1, s.out, out_rows, OW}, dt::f32, tag::nhwc);
        const memory::desc w_md =
            s.groups > 1
                ? memory::desc({s.groups, s.out / s.groups, s.in / s.groups, s.kh, s.kw}, dt::f32, tag::any)
                : memory::desc({s.out, s.in, s.kh, s.kw}, dt::f32, tag::any);
        const memory::desc b_md({s.out}, dt::f32, tag::a);
        const memory::dims strides{s.stride_h, s.stride_w}, dil{s.dil_h - 1, s.dil_w - 1};
        const memory::dims pl{sl.pad_t, s.pad_l};
        // Right padding as oneDNN wants it: exactly what the last output column reads past W.
        const memory::dims pr{sl.pad_b, (OW - 1) * s.stride_w - s.pad_l + s.dil_w * (s.kw - 1) - (W - 1)};
        const auto desc = bias.empty()
                              ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                                dnnl::algorithm::convolution_direct, src_md,
                                                                w_md, dst_md, strides, dil, pl, pr)
                              : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                                dnnl::algorithm::convolution_direct, src_md,
                                                                w_md, b_md, dst_md, strides, dil, pl, pr);
        // Fused first; where that only has oneDNN's slow reference implementation, unfused.
        for (int level = 0; level <= 1; ++level) {
            dnnl::post_ops po;
            if (level == 0) {
                float alpha = 0.0f, beta = 0.0f;
                // Separate statement: argument evaluation order is unspecified.
                const dnnl::algorithm alg = eltwise_for(post.act, alpha, beta);
                if (post.act != Activation::kNone) po.append_eltwise(1.0f, alg, alpha, beta);
                if (post.residual) po.append_sum(1.0f);
            }
            dnnl::primitive_attr attr;
            attr.set_post_ops(po);
            attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
            dnnl::convolution_forward::primitive_desc pd;
            try {
                pd = dnnl::convolution_forward::primitive_desc(desc, attr, eng);
            } catch (const dnnl::error& e) {
                if (level == 0) continue;
                RV_THROW(ErrorCode::kUnsupported, "oneDNN has no convolution for ", s.in, "->", s.out, " k",
                         s.kh, "x", s.kw, " on a ", sl.rows, "x", W, " slab: ", e.what());
            }
            Prim p;
            p.impl = pd.impl_info_str();
            const bool has_post = post.act != Activation::kNone || post.residual;
            if (level == 0 && has_post && p.impl.rfind("ref", 0) == 0) continue;
            p.epi_act = level == 1 && post.act != Activation::kNone;
            p.epi_sum = level == 1 && post.residual;
            p.prim = dnnl::convolution_forward(pd);
            p.weights_md = pd.weights_desc();
            p.scratch = pd.scratchpad_desc().get_size();
            pack_for(p.weights_md, s);
            return prims.emplace(key, std::move(p)).first->second;
        }
        RV_THROW(ErrorCode::kInternal, "no convolution primitive");
    }
};

Conv2d::Conv2d() : impl_(std::make_unique<Impl>()) {}
Conv2d::~Conv2d() = default;
Conv2d::Conv2d(Conv2d&&) noexcept = default;
Conv2d& Conv2d::operator=(Conv2d&&) noexcept = default;

void Conv2d::set_weights(const Tensor& weight, const Tensor* bias, const Conv2dShape& s) {
    RV_CHECK(s.in > 0 && s.out > 0 && s.kh > 0 && s.kw > 0 && s.stride_h > 0 && s.stride_w > 0 &&
                 s.dil_h > 0 && s.dil_w > 0 && s.groups > 0 && s.pad_t >= 0 && s.pad_l >= 0 && s.pad_b >= 0 &&
                 s.pad_r >= 0,
             ErrorCode::kInvalidArgument, "Conv2d: invalid geometry (in ", s.in, ", out ", s.out, ", kernel ",
             s.kh, "x", s.kw, ", stride ", s.stride_h, "x", s.stride_w, ", groups ", s.groups, ")");
    RV_CHECK(s.in % s.groups == 0 && s.out % s.groups == 0, ErrorCode::kInvalidArgument, "Conv2d: groups ",
             s.groups, " must divide in ", s.in, " and out ", s.out);
    RV_CHECK(weight.ndim() == 4 && weight.dim(0) == s.out && weight.dim(1) == s.in / s.groups &&
                 weight.dim(2) == s.kh && weight.dim(3) == s.kw,
             ErrorCode::kShapeMismatch, "Conv2d weight has shape ", shape_str(weight.shape()), ", expected [",
             s.out, ", ", s.in / s.groups, ", ", s.kh, ", ", s.kw,
             "] (PyTorch layout [out, in/groups, kh, kw])");
    if (bias)
        RV_CHECK(bias->numel() == s.out, ErrorCode::kShapeMismatch, "Conv2d bias has ", bias->numel(),
                 " elements, expected ", s.out);
    const ConvImpl forced = impl_->forced;
    impl_ = std::make_unique<Impl>();
    impl_->forced = forced;
    shape_ = s;
    impl_->weight = weight.clone();
    if (bias) impl_->bias = bias->clone();
}

void Conv2d::set_impl(ConvImpl impl) {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->forced = impl;
    impl_->prims.clear();
}

int64_t Conv2d::blocks(int64_t H, int64_t W) const {
    const int64_t OH = out_h(H), OW = out_w(W);
    if (OH <= 0 || OW <= 0) return 0;
    const int64_t macs_per_row =
        std::max<int64_t>(1, OW * shape_.out * shape_.kh * shape_.kw * (shape_.in / shape_.groups));
    const int64_t rows = std::clamp<int64_t>((kBlockMacs + macs_per_row - 1) / macs_per_row, 1, OH);
    return (OH + rows - 1) / rows;
}

namespace {
// Output rows of block blk (the same arithmetic as Conv2d::blocks).
std::pair<int64_t, int64_t> block_rows(int64_t OH, int64_t nblocks, int64_t blk) {
    const int64_t rows = (OH + nblocks - 1) / nblocks;
    return {blk * rows, std::min(OH, (blk + 1) * rows)};
}
}  // namespace

std::string Conv2d::implementation(int64_t H, int64_t W) const {
    const ConvImpl which = impl_->resolve();
    if (which == ConvImpl::kReference) return "reference";
    const int64_t OH = out_h(H), nb = blocks(H, W);
    RV_CHECK(nb > 0, ErrorCode::kInvalidArgument, "Conv2d: input ", H, "x", W, " gives an empty output");
    const auto [oh0, oh1] = block_rows(OH, nb, 0);
    std::lock_guard<std::mutex> lock(impl_->mutex);
    const Prim& p = impl_->get(shape_, slab_for(shape_, H, oh0, oh1), W, oh1 - oh0, Conv2dPost{});
    return "onednn:" + p.impl;
}

void Conv2d::prepare(int64_t H, int64_t W, const Conv2dPost& post) const {
    const int64_t OH = out_h(H), nb = blocks(H, W);
    RV_CHECK(nb > 0, ErrorCode::kInvalidArgument, "Conv2d: input ", H, "x", W, " is smaller than the ",
             shape_.kh, "x", shape_.kw, " kernel with its padding; the output would be empty");
    if (impl_->resolve() != ConvImpl::kOneDnn) return;
    std::lock_guard<std::mutex> lock(impl_->mutex);
    for (int64_t blk = 0; blk < nb; ++blk) {
        const auto [oh0, oh1] = block_rows(OH, nb, blk);
        impl_->get(shape_, slab_for(shape_, H, oh0, oh1), W, oh1 - oh0, post);
    }
}

void Conv2d::forward_block(const float* x, int64_t b, int64_t H, int64_t W, float* y, int64_t blk,
                           const Conv2dPost& post) const {
    const Conv2dShape& s = shape_;
    const int64_t OH = out_h(H), OW = out_w(W), nb = blocks(H, W);
    RV_CHECK(nb > 0, ErrorCode::kInvalidArgument, "Conv2d: input ", H, "x", W, " gives an empty output");
    RV_ASSERT(blk >= 0 && blk < nb && b >= 0);
    const auto [oh0, oh1] = block_rows(OH, nb, blk);
    const float* xb = x + b * H * W * s.in;
    float* yb = y + b * OH * OW * s.out;
    const float* rb = post.residual ? post.residual + b * OH * OW * s.out : nullptr;
    const ConvImpl which = impl_->resolve();

    if (which == ConvImpl::kReference) {
        // The reference over the whole image would redo other blocks; run it on this block's slab.
        const Slab sl = slab_for(s, H, oh0, oh1);
        Conv2dShape bs = s;
        bs.pad_t = sl.pad_t;
        bs.pad_b = sl.pad_b;
        Conv2dPost bp = post;
        bp.residual = rb ? rb + oh0 * OW * s.out : nullptr;
        ref::conv2d(xb + sl.ih0 * W * s.in, impl_->weight.data(),
                    impl_->bias.empty() ? nullptr : impl_->bias.data(), bs, 1, sl.rows, W,
                    yb + oh0 * OW * s.out, bp);
        return;
    }
    const Slab sl = slab_for(s, H, oh0, oh1);
    dnnl::convolution_forward prim;
    memory weights;
    size_t scratch = 0;
    bool epi_act = false, epi_sum = false;
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        const Prim& p = impl_->get(s, sl, W, oh1 - oh0, post);
        prim = p.prim;
        weights = impl_->pack_for(p.weights_md, s);
        scratch = p.scratch;
        epi_act = p.epi_act;
        epi_sum = p.epi_sum;
    }
    const int64_t n_out = (oh1 - oh0) * OW * s.out;
    float* yblk = yb + oh0 * OW * s.out;
    const float* rblk = rb ? rb + oh0 * OW * s.out : nullptr;
    // The fused sum post-op adds to what y holds: put the residual there first.
    if (rblk && !epi_sum && rblk != yblk) std::memcpy(yblk, rblk, static_cast<size_t>(n_out) * sizeof(float));
    // An unfused residual that is y itself must be kept aside before the conv overwrites y.
    std::byte* base = thread_scratch(
        scratch + (epi_sum && rblk == yblk ? static_cast<size_t>(n_out) * sizeof(float) + 64 : 0));
    float* saved = nullptr;
    if (epi_sum && rblk == yblk) {
        saved = reinterpret_cast<float*>(base + (scratch + 63) / 64 * 64);
        std::memcpy(saved, rblk, static_cast<size_t>(n_out) * sizeof(float));
        rblk = saved;
    }
    dnnl::engine& eng = onednn::engine();
    memory src_mem(memory::desc({1, s.in, sl.rows, W}, dt::f32, tag::nhwc), eng,
                   const_cast<float*>(xb + sl.ih0 * W * s.in));
    memory dst_mem(memory::desc({1, s.out, oh1 - oh0, OW}, dt::f32, tag::nhwc), eng, yblk);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst_mem}};
    if (!impl_->bias.empty())
        args.insert({DNNL_ARG_BIAS, memory(memory::desc({s.out}, dt::f32, tag::a), eng, impl_->bias.data())});
    if (scratch > 0)
        args.insert({DNNL_ARG_SCRATCHPAD,
                     memory(memory::desc({static_cast<int64_t>(scratch)}, dt::u8, tag::a), eng, base)});
    dnnl::stream strm(eng);
    // One block, one thread: oneDNN's OpenMP must not start a team inside a pool worker (whose
    // OpenMP setting is the default, all CPUs), or the two pools oversubscribe the cores.
    {
        const OneThread one;
        prim.execute(strm, args);
        strm.wait();
    }
    if (epi_act || epi_sum)
        for (int64_t i = 0; i < n_out; ++i) {
            float v = epi_act ? activate(post.act, yblk[i]) : yblk[i];
            if (epi_sum) v += rblk[i];
            yblk[i] = v;
        }
}

void Conv2d::forward(const float* x, int64_t B, int64_t H, int64_t W, float* y, const Conv2dPost& post,
                     bool serial) const {
    RV_CHECK(shape_.in > 0, ErrorCode::kInvalidArgument, "Conv2d: forward before set_weights");
    RV_CHECK(B >= 0 && H > 0 && W > 0, ErrorCode::kInvalidArgument, "Conv2d: bad input size [", B, ", ", H,
             ", ", W, ", ", shape_.in, "] (NHWC)");
    const int64_t nb = blocks(H, W);
    RV_CHECK(nb > 0, ErrorCode::kInvalidArgument, "Conv2d: input ", H, "x", W, " is smaller than the ",
             shape_.kh, "x", shape_.kw, " kernel with its padding; the output would be empty");
    if (B == 0) return;
    prepare(H, W, post);  // build primitives once, outside the parallel section
    auto body = [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) forward_block(x, i / nb, H, W, y, i % nb, post);
    };
    if (serial || B * nb == 1)
        body(0, B * nb);
    else
        parallel_for(0, B * nb, 1, body);
}

}  // namespace rv::ops
