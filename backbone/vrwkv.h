// The Vision-RWKV (v4, bidirectional) backbone: corner-padded patch embedding, position embedding
// (bicubic-resized when the token grid differs), `depth` blocks, final LayerNorm.
// Layer: backbone. PyTorch counterpart: VRWKV in OpenGVLab/Vision-RWKV
// classification/mmcls_custom/models/backbones/vrwkv.py (keys under `backbone.`). Spec §2.1–2.3.
#pragma once

#include <string>
#include <vector>

#include "backbone/block.h"
#include "backbone/forward_context.h"
#include "backbone/layer_norm.h"
#include "backbone/param_reader.h"
#include "backbone/vrwkv_config.h"
#include "vision/ops/split_linear.h"

namespace rv::backbone {

// Structure facts read from a checkpoint: which optional parts it has.
struct CheckpointStructure {
    int embed_dims = 0;
    int depth = 0;
    int hidden_dims = 0;
    int patch_size = 0;
    int in_channels = 0;
    int pos_h = 0, pos_w = 0;  // stored position grid
    bool key_norm = false;
    bool layer_scale = false;
};

// The prefix under which a checkpoint keeps the backbone ("backbone." for mmcls classifiers,
// "module.backbone." after DataParallel, "" for a bare backbone): the shortest one in front of a
// "patch_embed.projection.weight" key. Throws kNotFound naming the file when there is none.
std::string find_backbone_prefix(const weights::WeightStore& store);

// Reads the structure under `prefix` (e.g. "backbone."); throws kNotFound naming the file when the
// file does not look like a VRWKV checkpoint.
CheckpointStructure detect_structure(const weights::WeightStore& store, const std::string& prefix);

class Vrwkv {
public:
    // Loads every backbone parameter under `prefix`. The checkpoint decides key_norm and layer
    // scale (cfg is updated to match); shapes must agree with cfg, else kShapeMismatch.
    void load(weights::WeightStore& store, const std::string& prefix, VrwkvConfig& cfg);

    const VrwkvConfig& config() const { return cfg_; }

    // Packs every matmul's weights for `precision` (once, before the first forward pass).
    void prepare(ops::Precision precision);

    // Checks an input shape [B, C_in, H, W] against the model (kShapeMismatch); returns the token grid.
    void check_input(int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t& Hp, int64_t& Wp) const;

    // Sizes ctx for this input shape: its workspace, matmul scratch and the resized position
    // embedding; kLimit when the image has more than rv::limits().max_tokens patch tokens or the
    // pass would need more than limits().max_activation_bytes (vision/core/limits.h), so a huge
    // image gives a clear error instead of an out-of-memory kill. Does nothing when
    // ctx is already sized for this shape.
    void prepare_context(ForwardContext& ctx, int64_t B, int64_t H, int64_t W) const;

    // images [B, C_in, H, W] (normalised) -> tokens [B, Hp·Wp, C] after the final norm, written to
    // a buffer taken from ctx.ws (valid until the caller rewinds it). ctx must be prepared for this
    // shape; the workspace is rewound to empty first.
    float* forward(ForwardContext& ctx, const float* images, int64_t B, int64_t H, int64_t W) const;

    // The "matmul ceiling" of a forward pass: every matmul of the model with the same shapes and
    // packed weights, in the same order, without the rest (no post-ops, no WKV, norms or shifts).
    // Inputs are whatever the workspace holds. ctx must be prepared for this shape.
    void run_matmuls_only(ForwardContext& ctx, int64_t B, int64_t H, int64_t W) const;

    // Stand-alone convenience (tests, one-off calls): its own context, tokens as a Tensor.
    Tensor forward(const Tensor& images, int64_t& Hp, int64_t& Wp, const TraceFn& trace = {}) const;

private:
    VrwkvConfig cfg_;
    ops::SplitLinear patch_proj_;  // Conv2d(k = s = p) as a matmul over extracted patches
    Tensor pos_embed_;             // [1, pos_h·pos_w, C]
    int64_t pos_h_ = 0, pos_w_ = 0;
    std::vector<Block> layers_;
    LayerNorm ln1_;  // final norm (key backbone.ln1)
};

}  // namespace rv::backbone
