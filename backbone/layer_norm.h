// LayerNorm module (weight + bias over the last dimension, eps 1e-5).
// Layer: backbone. PyTorch counterpart: torch.nn.LayerNorm.
#pragma once

#include "backbone/param_reader.h"

namespace rv::backbone {

struct LayerNorm {
    Tensor weight, bias;
    int64_t dims = 0;
    float eps = 1e-5f;

    void load(const ParamReader& p, int64_t n) {
        dims = n;
        weight = p.take("weight", {n});
        bias = p.take("bias", {n});
    }
    // x, y: [rows, dims]; y may alias x.
    void forward(const float* x, float* y, int64_t rows) const;
};

}  // namespace rv::backbone
