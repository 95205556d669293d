// RwkvUnetConfig: the structure of an RWKV-UNet (encoder stages, decoder widths, Bi-WKV settings),
// the official presets T/S/B plus our narrow "n", and the JSON form written by
// tools/rwkv_ref/rwkv_unet.py (config_json_text) into safetensors metadata.
// Layer: backbone. PyTorch counterpart: RWKV_UNet_encoder_{T,S,B} + RWKV_UNet{,_S,_T} in
// juntaoJianggavin/RWKV-UNet rwkv_unet.py; our reference tools/rwkv_ref/rwkv_unet.py. Spec §6.1.
#pragma once

#include <string>
#include <vector>

#include "vision/ops/ref/bi_wkv_ref.h"

namespace rv::backbone {

struct RwkvUnetConfig {
    std::vector<int> depths{2, 2, 4, 2};
    int stem_dim = 24;
    std::vector<int> embed_dims{32, 48, 96, 160};
    std::vector<double> exp_ratios{2.0, 2.5, 3.0, 3.5};
    std::vector<std::string> norm_layers{"bn_2d", "bn_2d", "ln_2d", "ln_2d"};  // GLSP input norm
    std::vector<std::string> act_layers{"silu", "silu", "gelu", "gelu"};       // only the stem's SE uses it
    std::vector<int> dw_kss{5, 5, 5, 5};
    std::vector<bool> attn_ss{false, false, true, true};
    int num_classes = 9;
    int decoder_out_dim = 24;  // decoder4 output width (24 upstream)
    int decoder_dw_ks = 9;
    int encoder_num_classes = 1000;  // the encoder's unused classifier (keys only)
    int token_split = 32;
    double eps = 1e-6;  // Bi-WKV EPS
    int img_size = 224;
    // true: 1-channel input repeated to 3 (official B, S); false: 3-channel input (official T).
    bool repeat_gray = true;

    int in_channels() const { return repeat_gray ? 1 : 3; }
    ops::BiWkvParams wkv_params() const { return {token_split, static_cast<float>(eps)}; }
    // Throws kInvalidArgument naming the field on impossible values.
    void validate() const;
};

// "rwkv_unet_t", "rwkv_unet_s", "rwkv_unet_b", "rwkv_unet_n"; throws kNotFound listing them.
RwkvUnetConfig rwkv_unet_preset(const std::string& name);

// JSON text (fields of tools/rwkv_ref/rwkv_unet.py config_from_json; "arch" selects a preset the
// other fields override) -> config. Unknown fields are an error.
RwkvUnetConfig rwkv_unet_config_from_json(const std::string& json_text, const std::string& source_name);
std::string rwkv_unet_config_to_json(const RwkvUnetConfig& cfg);

}  // namespace rv::backbone
