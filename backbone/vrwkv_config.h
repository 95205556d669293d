// VrwkvConfig: the structure of a Vision-RWKV (v4, bidirectional) classifier, with the official
// presets and a JSON form whose field names are the official constructor's arguments.
// Layer: backbone. PyTorch counterpart: VRWKV.__init__ arguments in OpenGVLab/Vision-RWKV
// classification/mmcls_custom/models/backbones/vrwkv.py and classification/configs/vrwkv/*.py.
// Spec: shared/spec/vrwkv.md §2.9.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "vision/ops/ref/bi_wkv_ref.h"

namespace rv::backbone {

enum class HeadKind { kLinear, kMlp };

struct VrwkvConfig {
    int embed_dims = 192;
    int depth = 12;
    int hidden_rate = 4;  // channel-mix hidden width = hidden_rate · embed_dims
    bool post_norm = false;
    std::optional<double> init_values;  // layer scale present iff set (value only matters at init)
    bool key_norm = false;
    int img_size = 224;  // sets the stored position-embedding grid: (img_size / patch_size)²
    int patch_size = 16;
    int in_channels = 3;
    int num_classes = 1000;
    int token_split = 32;
    double eps = 1e-6;
    HeadKind head = HeadKind::kLinear;
    int head_hidden_dims = 0;  // MLP head hidden width (VRWKV-L: 3072)

    int pos_grid() const { return img_size / patch_size; }
    int hidden_dims() const { return hidden_rate * embed_dims; }
    ops::BiWkvParams wkv_params() const { return {token_split, static_cast<float>(eps)}; }

    // Throws kInvalidArgument on impossible values (non-positive sizes, MLP head without width...).
    void validate() const;
};

// "vrwkv_t", "vrwkv_s", "vrwkv_b", "vrwkv_l"; throws kNotFound listing the known names.
VrwkvConfig vrwkv_preset(const std::string& name);
const char* const* vrwkv_preset_names();  // null-terminated

// Number of parameters of the classifier a config describes (backbone + head), as PyTorch counts
// them; used by `models`/`info` and checked against the published sizes (spec §2.9).
int64_t parameter_count(const VrwkvConfig& cfg);

// JSON text <-> config. Unknown fields are an error (a typo must not be silently ignored).
VrwkvConfig config_from_json(const std::string& json_text, const std::string& source_name);
std::string config_to_json(const VrwkvConfig& cfg);

}  // namespace rv::backbone
