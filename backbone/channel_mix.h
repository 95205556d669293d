// VRWKV channel mix: Q-Shift + lerp → σ(R·x_r) ⊙ V·[key_norm](relu(K·x_k)²).
// Layer: backbone. PyTorch counterpart: VRWKV_ChannelMix in OpenGVLab/Vision-RWKV
// classification/mmcls_custom/models/backbones/vrwkv.py (keys under `ffn.`). Spec §2.7.
//
// Fused as: shift + 2 lerps in one kernel; relu² in the key matmul; σ in the receptance matmul;
// σ(r) ⊙, the layer scale and the caller's residual add in the value matmul.
#pragma once

#include <optional>

#include "backbone/forward_context.h"
#include "backbone/layer_norm.h"
#include "backbone/param_reader.h"
#include "vision/ops/split_linear.h"

namespace rv::backbone {

struct ChannelMix {
    int64_t dims = 0, hidden = 0;
    Tensor spatial_mix_k, spatial_mix_r;      // stored [1,1,C]
    ops::SplitLinear key, receptance, value;  // key [4C,C], receptance [C,C], value [C,4C]
    std::optional<LayerNorm> key_norm;        // over the hidden width

    void load(const ParamReader& p, int64_t n, int64_t hidden_dims, bool with_key_norm);
    void prepare(ops::Precision precision);

    void plan(WorkspacePlan& plan, int64_t M) const;
    // Same scale / accumulate as the forward() call it sizes.
    size_t matmul_scratch(int64_t T, const float* scale = nullptr, bool accumulate = false) const;

    // x, y: [B, H·W, C]; y must not alias x. With accumulate, y += scale ⊙ out (scale may be null).
    void forward(ForwardContext& ctx, const float* x, float* y, int64_t B, int64_t H, int64_t W,
                 const float* scale = nullptr, bool accumulate = false) const;
    // Stand-alone (tests): its own context.
    void forward(const float* x, float* y, int64_t B, int64_t H, int64_t W) const;
};

}  // namespace rv::backbone
