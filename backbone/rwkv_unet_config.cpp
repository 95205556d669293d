// RWKV-UNet presets and JSON config. Layer: backbone.
#include "backbone/rwkv_unet_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "vision/core/error.h"

namespace rv::backbone {

void RwkvUnetConfig::validate() const {
    auto bad = [](const std::string& what) {
        RV_THROW(ErrorCode::kInvalidArgument, "RWKV-UNet config: ", what);
    };
    if (depths.size() != 4 || embed_dims.size() != 4 || exp_ratios.size() != 4 || norm_layers.size() != 4 ||
        act_layers.size() != 4 || dw_kss.size() != 4 || attn_ss.size() != 4)
        bad("depths, embed_dims, exp_ratios, norm_layers, act_layers, dw_kss and attn_ss need 4 entries "
            "each");
    for (int i = 0; i < 4; ++i) {
        if (depths[static_cast<size_t>(i)] < 1) bad("every stage needs depth >= 1");
        if (embed_dims[static_cast<size_t>(i)] < 1) bad("embed_dims must be positive");
        if (exp_ratios[static_cast<size_t>(i)] <= 0) bad("exp_ratios must be positive");
        if (dw_kss[static_cast<size_t>(i)] < 1) bad("dw_kss must be positive");
        const auto& n = norm_layers[static_cast<size_t>(i)];
        if (n != "bn_2d" && n != "ln_2d" && n != "none")
            bad("norm_layers entries must be bn_2d, ln_2d or none (got '" + n + "')");
    }
    if (stem_dim < 1 || num_classes < 1 || decoder_out_dim < 1 || decoder_dw_ks < 1 || token_split < 1)
        bad("stem_dim, num_classes, decoder_out_dim, decoder_dw_ks and token_split must be positive");
}

RwkvUnetConfig rwkv_unet_preset(const std::string& name) {
    RwkvUnetConfig c;
    if (name == "rwkv_unet_t") {
        c.repeat_gray = false;  // RWKV_UNet_T's forward has the repeat commented out
        return c;
    }
    if (name == "rwkv_unet_s") {
        c.depths = {3, 3, 6, 3};
        c.embed_dims = {32, 64, 128, 192};
        c.exp_ratios = {2.0, 2.5, 3.0, 4.0};
        return c;
    }
    if (name == "rwkv_unet_b") {
        c.depths = {3, 3, 6, 3};
        c.embed_dims = {48, 72, 144, 240};
        c.exp_ratios = {2.0, 2.5, 4.0, 4.0};
        return c;
    }
    if (name == "rwkv_unet_n") {
        c.stem_dim = 16;
        c.depths = {2, 2, 2, 2};
        c.embed_dims = {16, 24, 48, 64};
        c.exp_ratios = {2.0, 2.0, 2.0, 2.0};
        c.decoder_out_dim = 16;
        c.encoder_num_classes = 1;
        return c;
    }
    RV_THROW(ErrorCode::kNotFound, "unknown RWKV-UNet preset '", name,
             "' (known: rwkv_unet_t, rwkv_unet_s, rwkv_unet_b, rwkv_unet_n)");
}

RwkvUnetConfig rwkv_unet_config_from_json(const std::string& json_text, const std::string& source_name) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception& e) {
        RV_THROW(ErrorCode::kInvalidArgument, "RWKV-UNet config ", source_name,
                 " is not valid JSON: ", e.what());
    }
    RV_CHECK(j.is_object(), ErrorCode::kInvalidArgument, "RWKV-UNet config ", source_name,
             " must be a JSON object");
    static const std::set<std::string> known = {"arch",          "name",
                                                "depths",        "stem_dim",
                                                "embed_dims",    "exp_ratios",
                                                "norm_layers",   "act_layers",
                                                "dw_kss",        "attn_ss",
                                                "num_classes",   "decoder_out_dim",
                                                "decoder_dw_ks", "encoder_num_classes",
                                                "token_split",   "eps",
                                                "img_size",      "repeat_gray",
                                                "in_channels"};
    for (const auto& [key, value] : j.items())
        RV_CHECK(known.count(key), ErrorCode::kInvalidArgument, "RWKV-UNet config ", source_name,
                 ": unknown field '", key, "'");
    RwkvUnetConfig c;
    try {
        if (j.contains("arch")) c = rwkv_unet_preset(j.at("arch").get<std::string>());
        auto get = [&](const char* k, auto& out) {
            if (j.contains(k)) j.at(k).get_to(out);
        };
        get("depths", c.depths);
        get("stem_dim", c.stem_dim);
        get("embed_dims", c.embed_dims);
        get("exp_ratios", c.exp_ratios);
        get("norm_layers", c.norm_layers);
        get("act_layers", c.act_layers);
        get("dw_kss", c.dw_kss);
        get("attn_ss", c.attn_ss);
        get("num_classes", c.num_classes);
        get("decoder_out_dim", c.decoder_out_dim);
        get("decoder_dw_ks", c.decoder_dw_ks);
        get("encoder_num_classes", c.encoder_num_classes);
        get("token_split", c.token_split);
        get("eps", c.eps);
        get("img_size", c.img_size);
        get("repeat_gray", c.repeat_gray);
        if (j.contains("in_channels"))
            RV_CHECK(j.at("in_channels").get<int>() == c.in_channels(), ErrorCode::kInvalidArgument,
                     "RWKV-UNet config ", source_name, ": in_channels ", j.at("in_channels").dump(),
                     " disagrees with repeat_gray (", c.repeat_gray ? "1" : "3", " expected)");
    } catch (const nlohmann::json::exception& e) {
        RV_THROW(ErrorCode::kInvalidArgument, "RWKV-UNet config ", source_name, ": wrong type: ", e.what());
    }
    c.validate();
    return c;
}

std::string rwkv_unet_config_to_json(const RwkvUnetConfig& c) {
    nlohmann::json j = {{"depths", c.depths},
                        {"stem_dim", c.stem_dim},
                        {"embed_dims", c.embed_dims},
                        {"exp_ratios", c.exp_ratios},
                        {"norm_layers", c.norm_layers},
                        {"act_layers", c.act_layers},
                        {"dw_kss", c.dw_kss},
                        {"attn_ss", c.attn_ss},
                        {"num_classes", c.num_classes},
                        {"decoder_out_dim", c.decoder_out_dim},
                        {"decoder_dw_ks", c.decoder_dw_ks},
                        {"encoder_num_classes", c.encoder_num_classes},
                        {"token_split", c.token_split},
                        {"eps", c.eps},
                        {"img_size", c.img_size},
                        {"repeat_gray", c.repeat_gray},
                        {"in_channels", c.in_channels()}};
    return j.dump();
}

}  // namespace rv::backbone
