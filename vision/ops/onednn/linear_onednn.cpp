// oneDNN (v2 API) implementation of ops::Linear. Layer: vision/ops/onednn.
#include <dnnl.hpp>
#include <map>
#include <mutex>

#include "vision/core/error.h"
#include "vision/ops/linear.h"
#include "vision/ops/onednn/runtime.h"

namespace rv::ops {

struct Linear::Impl {
    Tensor weight;  // [N, K] as given; seen by oneDNN as [K, N] with strides (tag ba)
    Tensor bias;    // [N] or empty
    bool has_bias = false;
    mutable std::mutex mutex;
    mutable std::map<int64_t, dnnl::matmul> primitives;  // keyed by M
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

void Linear::forward(const float* x, int64_t M, float* y) const {
    using dnnl::memory;
    RV_ASSERT(in_ > 0 && out_ > 0);
    if (M == 0) return;
    const memory::dims src_dims = {M, in_}, w_dims = {in_, out_}, dst_dims = {M, out_}, b_dims = {1, out_};
    const memory::desc src_md(src_dims, memory::data_type::f32, memory::format_tag::ab);
    const memory::desc w_md(w_dims, memory::data_type::f32, memory::format_tag::ba);
    const memory::desc dst_md(dst_dims, memory::data_type::f32, memory::format_tag::ab);
    const memory::desc b_md(b_dims, memory::data_type::f32, memory::format_tag::ab);
    dnnl::engine& eng = onednn::engine();

    dnnl::matmul prim;
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        auto it = impl_->primitives.find(M);
        if (it == impl_->primitives.end()) {
            // Bounded: a folder of images at their own sizes (--no-resize) brings a new M each.
            if (impl_->primitives.size() >= 64) impl_->primitives.clear();
            const auto desc = impl_->has_bias ? dnnl::matmul::desc(src_md, w_md, b_md, dst_md)
                                              : dnnl::matmul::desc(src_md, w_md, dst_md);
            it = impl_->primitives.emplace(M, dnnl::matmul(dnnl::matmul::primitive_desc(desc, eng))).first;
        }
        prim = it->second;
    }
    memory src_mem(src_md, eng, const_cast<float*>(x));
    memory w_mem(w_md, eng, impl_->weight.data());
    memory dst_mem(dst_md, eng, y);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src_mem}, {DNNL_ARG_WEIGHTS, w_mem}, {DNNL_ARG_DST, dst_mem}};
    if (impl_->has_bias) args.insert({DNNL_ARG_BIAS, memory(b_md, eng, impl_->bias.data())});
    dnnl::stream strm(eng);
    prim.execute(strm, args);
    strm.wait();
}

}  // namespace rv::ops
