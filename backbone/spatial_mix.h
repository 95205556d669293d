// VRWKV spatial mix: Q-Shift + lerp → k, v, r (Linear, no bias) → Bi-WKV(spatial_decay/T,
// spatial_first/T) → optional key_norm → σ(r) ⊙ · → output Linear.
// Layer: backbone. PyTorch counterpart: VRWKV_SpatialMix in OpenGVLab/Vision-RWKV
// classification/mmcls_custom/models/backbones/vrwkv.py (keys under `att.`). Spec §2.5.
//
// Fused as: shift + 3 lerps in one kernel; σ in the receptance matmul; σ(r) ⊙ in the Bi-WKV
// kernel (or in key_norm's LayerNorm when there is one); the caller's residual add and layer scale
// in the output matmul.
#pragma once

#include <optional>

#include "backbone/forward_context.h"
#include "backbone/layer_norm.h"
#include "backbone/param_reader.h"
#include "vision/ops/ref/bi_wkv_ref.h"
#include "vision/ops/split_linear.h"

namespace rv::backbone {

struct SpatialMix {
    int64_t dims = 0;
    ops::BiWkvParams wkv;
    Tensor spatial_decay, spatial_first;                 // [C]
    Tensor spatial_mix_k, spatial_mix_v, spatial_mix_r;  // stored [1,1,C]
    ops::SplitLinear key, value, receptance, output;
    std::optional<LayerNorm> key_norm;

    // key_norm: whether the checkpoint has it (detected by the caller).
    void load(const ParamReader& p, int64_t n, bool with_key_norm, const ops::BiWkvParams& params);
    void prepare(ops::Precision precision);

    // Workspace this module takes for M = B·T rows, and the largest matmul scratch one row block
    // of an image of T tokens needs.
    void plan(WorkspacePlan& plan, int64_t M) const;
    // Same scale / accumulate as the forward() call it sizes.
    size_t matmul_scratch(int64_t T, const float* scale = nullptr, bool accumulate = false) const;

    // x, y: [B, H·W, C]; y must not alias x. With accumulate, y += scale ⊙ out (scale may be null)
    // instead of y = out.
    void forward(ForwardContext& ctx, const float* x, float* y, int64_t B, int64_t H, int64_t W,
                 const float* scale = nullptr, bool accumulate = false) const;
    // Stand-alone (tests): its own context.
    void forward(const float* x, float* y, int64_t B, int64_t H, int64_t W) const;
};

}  // namespace rv::backbone
