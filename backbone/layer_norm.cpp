// LayerNorm over rows. Layer: backbone.
#include "backbone/layer_norm.h"

#include "vision/ops/ref/linear_ref.h"

namespace rv::backbone {

void LayerNorm::forward(const float* x, float* y, int64_t rows) const {
    ops::ref::layer_norm(x, weight.data(), bias.data(), y, rows, dims, eps);
}

}  // namespace rv::backbone
