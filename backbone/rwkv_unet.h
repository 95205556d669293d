// RWKV-UNet: GLSP encoder (inverted residuals, VRWKV spatial mix with key_norm in stages 3-4),
// CCM skip refinement and the 9×9-depthwise decoder, on channels-last (NHWC) maps.
// Layer: backbone. PyTorch counterpart: juntaoJianggavin/RWKV-UNet rwkv_unet.py (GLSP,
// RWKV_UNet_encoder, UpBlock, RWKV_UNet{,_S,_T}), ccm/ccm.py (CCMix, VRWKV_ChannelMix),
// module/basic_modules.py (ConvNormAct, LayerNorm2d); our reference tools/rwkv_ref/rwkv_unet.py.
// Spec §6.1.
//
// Loaded by the official state-dict keys (encoder.stageS.J.*, ccm.*, decoderN.*, final_conv.*).
// Every BatchNorm is folded at load (eval mode, running_mean/var honoured): the one after each
// conv into that conv, a GLSP's input BatchNorm into its 1×1 conv (exact: no padding). Keys the
// U-Net never reads (att/ln1 of GLSPs without attention, every ln2, the decoders' ln1, the
// encoder's norm/head, num_batches_tracked) are accepted and ignored when present.
// Like the reference, the GLSP token grid and CCM sizes follow the input's (H, W), so non-square
// inputs work; at the official square size this is the official computation.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "backbone/channel_mix.h"
#include "backbone/forward_context.h"
#include "backbone/layer_norm.h"
#include "backbone/param_reader.h"
#include "backbone/rwkv_unet_config.h"
#include "backbone/spatial_mix.h"
#include "vision/ops/conv2d.h"

namespace rv::backbone {

// A channels-last feature map [B, H, W, C] that owns its data.
struct FeatureMap {
    Tensor data;
    int64_t B = 0, H = 0, W = 0, C = 0;
    static FeatureMap make(int64_t B, int64_t H, int64_t W, int64_t C);
    float* ptr() { return data.data(); }
    const float* ptr() const { return data.data(); }
    int64_t rows() const { return B * H * W; }
};

// ConvNormAct with its BatchNorm folded: conv (+ bias) + activation (+ residual).
struct ConvBnAct {
    ops::Conv2d conv;
    ops::Activation act = ops::Activation::kNone;
    // p: the ConvNormAct scope (keys conv.weight, norm.*). norm_bn: a BatchNorm follows the conv.
    // in_scale/in_shift (may be empty): a per-input-channel affine map before the conv, folded in.
    void load(const ParamReader& p, int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups,
              bool norm_bn, ops::Activation activation, const Tensor& in_scale = {},
              const Tensor& in_shift = {});
    // A plain nn.Conv2d (weight + bias), e.g. final_conv and the CCM projections.
    void load_plain(const ParamReader& p, int64_t in, int64_t out);
    FeatureMap forward(const FeatureMap& x, const float* residual = nullptr) const;
};

// Squeeze-and-excitation (stem only): x·σ(expand(act(reduce(mean(x))))).
struct SqueezeExcite {
    Tensor reduce_w, reduce_b, expand_w, expand_b;  // [rd, C], [rd], [C, rd], [C]
    int64_t C = 0, rd = 0;
    ops::Activation act = ops::Activation::kRelu;
    void load(const ParamReader& p, int64_t C, int64_t rd, ops::Activation act);
    void forward(FeatureMap& x) const;  // in place
};

struct Glsp {
    int64_t dim_in = 0, dim_mid = 0, dim_out = 0, stride = 1;
    bool has_skip = false, attn = false;
    std::optional<LayerNorm> norm_ln;  // LayerNorm2d input norm (a BatchNorm one is folded into conv)
    ConvBnAct conv, conv_local, proj;
    SpatialMix att;
    LayerNorm ln1;
    std::optional<SqueezeExcite> se;

    void load(const ParamReader& p, weights::WeightStore& store, int64_t dim_in, int64_t dim_out,
              bool norm_in, const std::string& norm_layer, bool has_skip, double exp_ratio, int64_t dw_ks,
              int64_t stride, double se_ratio, ops::Activation se_act, bool attn,
              const ops::BiWkvParams& wkv);
    FeatureMap forward(ForwardContext& ctx, const FeatureMap& x) const;
};

struct UpBlock {
    ConvBnAct conv, conv_local, proj;
    void load(const ParamReader& p, weights::WeightStore& store, int64_t dim_in, int64_t dim_out,
              int64_t dw_ks);
    FeatureMap forward(const FeatureMap& x) const;  // ... then bilinear ×2
};

struct CcMix {
    int64_t target_dim = 0;
    std::vector<ConvBnAct> projections, final_projections;
    LayerNorm ln1;
    ChannelMix channel;
    void load(const ParamReader& p, const std::vector<int64_t>& in_dims, int64_t target_dim);
    // features: enc3, enc2, enc1 (the last one sets the working size) -> refined, same shapes.
    std::vector<FeatureMap> forward(ForwardContext& ctx,
                                    const std::vector<const FeatureMap*>& features) const;
};

class RwkvUnet {
public:
    // `p` is the model's root scope (keys encoder.*, ccm.*, ...). Marks the keys the U-Net never
    // reads as used (they may be missing); the caller checks the rest with check_all_used().
    void load(const ParamReader& p, weights::WeightStore& store, const RwkvUnetConfig& cfg);

    const RwkvUnetConfig& config() const { return cfg_; }
    int64_t parameter_count() const { return parameters_; }  // of the tensors the forward uses

    // Encoder features [enc0 .. enc4] at strides 1, 2, 4, 8, 16 (NHWC) of images NCHW
    // [B, in_channels, H, W]; H and W must be multiples of 16.
    std::vector<FeatureMap> encode(ForwardContext& ctx, const float* images_nchw, int64_t B, int64_t H,
                                   int64_t W) const;
    // CCM + decoder + final conv: logits NHWC [B, H, W, num_classes].
    FeatureMap decode(ForwardContext& ctx, const std::vector<FeatureMap>& feats) const;

    // The whole pass: images NCHW -> logits NCHW [B, num_classes, H, W]. const, thread-safe
    // (a context of its own per call). trace (optional) sees enc0..4, ccm1..3, dec0..3 as NCHW.
    void forward(const float* images_nchw, int64_t B, int64_t H, int64_t W, float* logits_nchw,
                 const TraceFn& trace = {}) const;

private:
    void prepare_context(ForwardContext& ctx, int64_t B, int64_t H, int64_t W) const;

    RwkvUnetConfig cfg_;
    std::vector<std::vector<Glsp>> stages_;  // stage0 .. stage4
    CcMix ccm_;
    UpBlock decoder_[4];
    ConvBnAct final_conv_;
    int64_t parameters_ = 0;
};

}  // namespace rv::backbone
