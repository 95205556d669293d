// Tensor storage. Layer: vision/core.
#include "vision/core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "vision/core/error.h"

namespace rv {

std::string shape_str(const Shape& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        RV_CHECK(d >= 0, ErrorCode::kInvalidArgument, "negative dimension in shape ", shape_str(shape));
        if (d != 0 && n > kMaxTensorElements / d)
            RV_THROW(ErrorCode::kLimit, "tensor of shape ", shape_str(shape), " exceeds the limit of ",
                     kMaxTensorElements, " elements");
        n *= d;
    }
    return n;
}

void Tensor::FreeAligned::operator()(float* p) const noexcept { std::free(p); }

Tensor::Tensor(Shape shape) : shape_(std::move(shape)), numel_(shape_numel(shape_)) {
    if (numel_ == 0) return;
    size_t bytes = static_cast<size_t>(numel_) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    void* p = std::aligned_alloc(64, bytes);
    RV_CHECK(p != nullptr, ErrorCode::kLimit, "out of memory allocating a tensor of shape ",
             shape_str(shape_));
    std::memset(p, 0, bytes);
    data_.reset(static_cast<float*>(p));
}

Tensor::Tensor(Shape shape, float fill) : Tensor(std::move(shape)) {
    std::fill(data(), data() + numel_, fill);
}

Tensor Tensor::clone() const {
    Tensor t(shape_);
    if (numel_) std::memcpy(t.data(), data(), static_cast<size_t>(numel_) * sizeof(float));
    return t;
}

int64_t Tensor::dim(int i) const {
    int n = ndim();
    if (i < 0) i += n;
    RV_ASSERT(i >= 0 && i < n);
    return shape_[static_cast<size_t>(i)];
}

void Tensor::reshape(Shape shape) {
    RV_CHECK(shape_numel(shape) == numel_, ErrorCode::kShapeMismatch, "cannot reshape ", shape_str(shape_),
             " to ", shape_str(shape));
    shape_ = std::move(shape);
}

}  // namespace rv
