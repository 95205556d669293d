// SplitLinear. Layer: vision/ops.
#include "vision/ops/split_linear.h"

#include <algorithm>
#include <cstring>

#include "vision/core/error.h"

namespace rv::ops {

int64_t SplitLinear::parts_for(int64_t N) { return N >= 512 ? 4 : N >= 128 ? 2 : 1; }

void SplitLinear::set_weights(const Tensor& weight, const Tensor* bias) {
    RV_CHECK(weight.ndim() == 2, ErrorCode::kShapeMismatch, "Linear weight must be 2-D, got ",
             shape_str(weight.shape()));
    out_ = weight.dim(0);
    in_ = weight.dim(1);
    RV_CHECK(!bias || bias->numel() == out_, ErrorCode::kShapeMismatch, "Linear bias has ",
             bias ? bias->numel() : 0, " elements, expected ", out_);
    const int64_t n = parts_for(out_);
    // Parts of a multiple of 16 columns (whole vectors), the last one takes the rest.
    const int64_t width = std::max<int64_t>(16, (out_ / n + 15) / 16 * 16);
    begin_.assign(1, 0);
    while (begin_.back() < out_) begin_.push_back(std::min(out_, begin_.back() + width));
    parts_.clear();
    parts_.resize(begin_.size() - 1);
    for (size_t p = 0; p < parts_.size(); ++p) {
        const int64_t n0 = begin_[p], rows = begin_[p + 1] - n0;
        Tensor w({rows, in_});
        std::memcpy(w.data(), weight.data() + n0 * in_, static_cast<size_t>(rows * in_) * sizeof(float));
        if (bias) {
            Tensor b({rows});
            std::memcpy(b.data(), bias->data() + n0, static_cast<size_t>(rows) * sizeof(float));
            parts_[p].set_weights(w, &b);
        } else {
            parts_[p].set_weights(w, nullptr);
        }
    }
}

void SplitLinear::prepare(Precision precision) {
    for (Linear& l : parts_) l.prepare(precision);
}

size_t SplitLinear::weight_bytes() const {
    size_t n = 0;
    for (const Linear& l : parts_) n += l.weight_bytes();
    return n;
}

size_t SplitLinear::scratch_bytes(int64_t M, const PostOps& post) const {
    size_t n = 0;
    for (const Linear& l : parts_) n = std::max(n, l.scratch_bytes(M, post, out_));
    return n;
}

void SplitLinear::forward_part(int64_t p, const float* x, int64_t M, float* y, const PostOps& post,
                               void* scratch) const {
    const int64_t n0 = part_begin(p);
    PostOps part = post;
    if (part.mul) part.mul += n0;
    if (part.scale) part.scale += n0;
    parts_[static_cast<size_t>(p)].forward(x, M, y + n0, part, scratch, out_);
}

void SplitLinear::forward(const float* x, int64_t M, float* y, const PostOps& post, void* scratch) const {
    for (int64_t p = 0; p < parts(); ++p) forward_part(p, x, M, y, post, scratch);
}

}  // namespace rv::ops
