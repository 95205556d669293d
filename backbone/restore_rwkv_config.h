// RestoreRwkvConfig: the structure of a Restore-RWKV network (widths, block counts, channels,
// Bi-WKV kernel variant, SR scale), its JSON form (field names = the official constructor's
// arguments) and its inference from an official checkpoint's tensor shapes.
// Layer: backbone. PyTorch counterpart: Restore_RWKV.__init__ in Yaziwel/Restore-RWKV
// model/Restore_RWKV.py; our tools/rwkv_ref/restore_rwkv.py (config_from_json). Spec §5.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "vision/ops/ref/bi_wkv_ref.h"

namespace rv::weights {
class WeightStore;
}

namespace rv::backbone {

struct RestoreRwkvConfig {
    int inp_channels = 3;  // = out_channels (global residual)
    int out_channels = 3;
    int dim = 48;                                  // level-1 width; levels 2..4 are 2·, 4·, 8·dim
    std::array<int, 4> num_blocks = {4, 6, 6, 8};  // encoder levels 1..3 + latent (decoders mirror)
    int num_refinement_blocks = 4;
    double hidden_rate = 4;  // channel-mix hidden width = int(hidden_rate · C), as the official code
    bool key_norm = false;
    int token_split = 64;  // the pre-July-2025 kernel that produced the published results (§5.3)
    double eps = 1e-6;
    int scale = 1;  // > 1: super-resolution, bicubic-upsampled input to the unchanged network

    ops::BiWkvParams wkv_params() const { return {token_split, static_cast<float>(eps)}; }
    // Throws kInvalidArgument on impossible values.
    void validate() const;
};

// The official network: 1 channel, 48/96/192/384, [4, 6, 6, 8] + 4.
RestoreRwkvConfig restore_rwkv_official();

// Trainable parameters (excludes the unused att.dwconv and the conv5x5_reparam copies).
int64_t parameter_count(const RestoreRwkvConfig& cfg);

// JSON text <-> config; unknown fields are an error ("name" and "arch" are accepted).
RestoreRwkvConfig restore_config_from_json(const std::string& json_text, const std::string& source_name);
std::string restore_config_to_json(const RestoreRwkvConfig& cfg);

// From a checkpoint with the official keys and no config metadata: channels and dim from
// patch_embed.weight, block counts by counting `<level>.<i>.` keys, hidden rate from ffn.key,
// key_norm from its presence. token_split/eps/scale keep their defaults (64, 1e-6, 1).
RestoreRwkvConfig infer_restore_config(const weights::WeightStore& store);

// Whether a store holds a Restore-RWKV network (its patch_embed + encoder_level1 keys).
bool looks_like_restore_rwkv(const weights::WeightStore& store);

}  // namespace rv::backbone
