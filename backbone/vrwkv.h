// The Vision-RWKV (v4, bidirectional) backbone: corner-padded patch embedding, position embedding
// (bicubic-resized when the token grid differs), `depth` blocks, final LayerNorm.
// Layer: backbone. PyTorch counterpart: VRWKV in OpenGVLab/Vision-RWKV
// classification/mmcls_custom/models/backbones/vrwkv.py (keys under `backbone.`). Spec §2.1–2.3.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backbone/block.h"
#include "backbone/layer_norm.h"
#include "backbone/param_reader.h"
#include "backbone/vrwkv_config.h"
#include "vision/ops/linear.h"

namespace rv::backbone {

// Observer of intermediate activations (tests compare them with PyTorch): name, data, shape.
using TraceFn = std::function<void(const std::string&, const float*, const Shape&)>;

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

// Upper bound on the activation memory of one forward pass, so that a huge image gives a clear
// error instead of an out-of-memory kill.
inline constexpr double kMaxActivationBytes = 8.0 * (1 << 30);

class Vrwkv {
public:
    // Loads every backbone parameter under `prefix`. The checkpoint decides key_norm and layer
    // scale (cfg is updated to match); shapes must agree with cfg, else kShapeMismatch.
    void load(weights::WeightStore& store, const std::string& prefix, VrwkvConfig& cfg);

    const VrwkvConfig& config() const { return cfg_; }

    // images [B, C_in, H, W] (normalised) -> tokens [B, Hp·Wp, C] after the final norm.
    Tensor forward(const Tensor& images, int64_t& Hp, int64_t& Wp, const TraceFn& trace = {}) const;

private:
    VrwkvConfig cfg_;
    ops::Linear patch_proj_;  // Conv2d(k = s = p) as a matmul over extracted patches
    Tensor pos_embed_;        // [1, pos_h·pos_w, C]
    int64_t pos_h_ = 0, pos_w_ = 0;
    std::vector<Block> layers_;
    LayerNorm ln1_;  // final norm (key backbone.ln1)
};

}  // namespace rv::backbone
