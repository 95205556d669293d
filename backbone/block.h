// One VRWKV block: ln0 (block 0 only), then pre-norm  x += γ1·Att(LN1(x)); x += γ2·FFN(LN2(x))
// or post-norm (res-post-norm) x += γ1·LN1(Att(x)); x += γ2·LN2(FFN(x)). γ only with layer scale.
// Layer: backbone. PyTorch counterpart: Block in OpenGVLab/Vision-RWKV
// classification/mmcls_custom/models/backbones/vrwkv.py (keys `layers.{i}.*`). Spec §2.3.
//
// Pre-norm: the residual add and γ are fused into each mix's last matmul. Post-norm: into the
// LayerNorm kernel that follows it.
#pragma once

#include <optional>

#include "backbone/channel_mix.h"
#include "backbone/forward_context.h"
#include "backbone/layer_norm.h"
#include "backbone/spatial_mix.h"
#include "backbone/vrwkv_config.h"

namespace rv::backbone {

struct Block {
    int layer_id = 0;
    bool post_norm = false;
    std::optional<LayerNorm> ln0;
    LayerNorm ln1, ln2;
    std::optional<Tensor> gamma1, gamma2;
    SpatialMix att;
    ChannelMix ffn;

    // key_norm and layer scale are taken from the checkpoint (what the file has is what runs);
    // post_norm cannot be seen in the weights and comes from the config.
    void load(const ParamReader& p, int layer, const VrwkvConfig& cfg);
    void prepare(ops::Precision precision);

    void plan(WorkspacePlan& plan, int64_t M) const;
    size_t matmul_scratch(int64_t T) const;

    // x: [B, H·W, C], updated in place.
    void forward(ForwardContext& ctx, float* x, int64_t B, int64_t H, int64_t W) const;
    // Stand-alone (tests): its own context.
    void forward(float* x, int64_t B, int64_t H, int64_t W) const;
};

}  // namespace rv::backbone
