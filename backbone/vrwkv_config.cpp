// VRWKV presets and JSON config. Layer: backbone.
#include "backbone/vrwkv_config.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "vision/core/error.h"

namespace rv::backbone {

void VrwkvConfig::validate() const {
    // Upper bounds keep every derived size (hidden = hidden_rate·embed_dims, patch areas) far from
    // int overflow; they are well above any published model.
    auto positive = [](int v, const char* name, int max = 1 << 20) {
        RV_CHECK(v > 0 && v <= max, ErrorCode::kInvalidArgument, "model config: '", name, "' must be in [1, ",
                 max, "], got ", v);
    };
    positive(embed_dims, "embed_dims", 1 << 15);
    positive(depth, "depth", 1024);
    positive(hidden_rate, "hidden_rate", 64);
    positive(img_size, "img_size", 1 << 16);
    positive(patch_size, "patch_size", 1024);
    positive(in_channels, "in_channels", 64);
    positive(num_classes, "num_classes");
    positive(token_split, "token_split", 1 << 16);
    RV_CHECK(img_size >= patch_size, ErrorCode::kInvalidArgument, "model config: img_size ", img_size,
             " is smaller than patch_size ", patch_size);
    RV_CHECK(eps >= 0.0, ErrorCode::kInvalidArgument, "model config: eps must be >= 0");
    if (head == HeadKind::kMlp) positive(head_hidden_dims, "head_hidden_dims", 1 << 16);
}

VrwkvConfig vrwkv_preset(const std::string& name) {
    VrwkvConfig c;
    if (name == "vrwkv_t") {
        c.embed_dims = 192;
    } else if (name == "vrwkv_s") {
        c.embed_dims = 384;
        c.post_norm = true;
        c.init_values = 1.0;
    } else if (name == "vrwkv_b") {
        c.embed_dims = 768;
        c.post_norm = true;
        c.init_values = 1e-5;
    } else if (name == "vrwkv_l") {
        c.embed_dims = 1024;
        c.depth = 24;
        c.post_norm = true;
        c.init_values = 1e-5;
        c.key_norm = true;
        c.img_size = 192;  // the 384 model keeps the 12×12 table and resizes it (spec §2.2)
        c.head = HeadKind::kMlp;
        c.head_hidden_dims = 3072;
        c.token_split = 16;  // trained with the InternImage-code kernel, TOKEN_SPLIT 16 (spec §2.6)
    } else {
        RV_THROW(ErrorCode::kNotFound, "unknown VRWKV preset '", name,
                 "'; known: vrwkv_t, vrwkv_s, vrwkv_b, vrwkv_l");
    }
    return c;
}

const char* const* vrwkv_preset_names() {
    static const char* const names[] = {"vrwkv_t", "vrwkv_s", "vrwkv_b", "vrwkv_l", nullptr};
    return names;
}

int64_t parameter_count(const VrwkvConfig& c) {
    const int64_t C = c.embed_dims, H = c.hidden_dims(), p = c.patch_size, g = c.pos_grid();
    int64_t n = C * c.in_channels * p * p + C + g * g * C;  // patch conv (with bias), pos_embed
    int64_t block = 4 * C;                                  // ln1, ln2
    block += 5 * C + 4 * C * C;                             // att: decay, first, 3 mixes, k/v/r/o
    block += 2 * C + 2 * H * C + C * C;                     // ffn: 2 mixes, key, value, receptance
    if (c.init_values) block += 2 * C;                      // gamma1, gamma2
    if (c.key_norm) block += 2 * C + 2 * H;                 // att.key_norm, ffn.key_norm
    n += c.depth * block + 2 * C + 2 * C;                   // blocks, ln0, final ln1
    if (c.head == HeadKind::kMlp)
        n += (C + 1) * c.head_hidden_dims + (int64_t{c.head_hidden_dims} + 1) * c.num_classes;
    else
        n += (C + 1) * c.num_classes;
    return n;
}

VrwkvConfig config_from_json(const std::string& json_text, const std::string& source_name) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception& e) {
        RV_THROW(ErrorCode::kInvalidArgument, "model config ", source_name, " is not valid JSON: ", e.what());
    }
    RV_CHECK(j.is_object(), ErrorCode::kInvalidArgument, "model config ", source_name,
             " must be a JSON object");
    static const std::set<std::string> known = {
        "embed_dims",  "depth",    "hidden_rate", "post_norm",        "init_values",
        "key_norm",    "img_size", "patch_size",  "in_channels",      "num_classes",
        "token_split", "eps",      "head",        "head_hidden_dims", "arch"};
    // Fields of the official VRWKV constructor (and mmcls config dicts) that only matter for
    // training: accepted and ignored, so an official backbone dict can be pasted as it is.
    static const std::set<std::string> training_only = {"type",    "drop_path_rate", "drop_rate",
                                                        "with_cp", "init_mode",      "init_cfg"};
    // Official fields we support only at their published value.
    const std::map<std::string, nlohmann::json> fixed = {
        {"shift_pixel", 1},   {"channel_gamma", 0.25},         {"shift_mode", "q_shift"},
        {"final_norm", true}, {"interpolate_mode", "bicubic"}, {"out_indices", -1}};
    for (const auto& [key, value] : j.items()) {
        if (training_only.count(key)) continue;
        if (auto f = fixed.find(key); f != fixed.end()) {
            RV_CHECK(value == f->second, ErrorCode::kUnsupported, "model config ", source_name, ": ", key,
                     " = ", value.dump(), " is not supported (only ", f->second.dump(), ")");
            continue;
        }
        RV_CHECK(known.count(key) || key == "k_norm", ErrorCode::kInvalidArgument, "model config ",
                 source_name, ": unknown field '", key, "'");
    }
    if (j.contains("type"))
        RV_CHECK(j.at("type") == "VRWKV", ErrorCode::kUnsupported, "model config ", source_name, ": type ",
                 j.at("type").dump(), " is not supported (only VRWKV)");
    if (j.contains("k_norm") && !j.contains("key_norm")) j["key_norm"] = j["k_norm"];  // InternImage spelling
    VrwkvConfig c;
    try {
        if (j.contains("arch")) {
            const auto arch = j.at("arch").get<std::string>();
            RV_CHECK(arch == "vrwkv", ErrorCode::kUnsupported, "model config ", source_name, ": arch '", arch,
                     "' is not supported (only 'vrwkv')");
        }
        auto get_int = [&](const char* k, int& out) {
            if (j.contains(k) && !j.at(k).is_null()) out = j.at(k).get<int>();
        };
        auto get_bool = [&](const char* k, bool& out) {
            if (j.contains(k)) out = j.at(k).get<bool>();
        };
        get_int("embed_dims", c.embed_dims);
        get_int("depth", c.depth);
        get_int("hidden_rate", c.hidden_rate);
        get_bool("post_norm", c.post_norm);
        get_bool("key_norm", c.key_norm);
        get_int("img_size", c.img_size);
        get_int("patch_size", c.patch_size);
        get_int("in_channels", c.in_channels);
        get_int("num_classes", c.num_classes);
        get_int("token_split", c.token_split);
        get_int("head_hidden_dims", c.head_hidden_dims);
        if (j.contains("eps")) c.eps = j.at("eps").get<double>();
        if (j.contains("init_values") && !j.at("init_values").is_null())
            c.init_values = j.at("init_values").get<double>();
        if (j.contains("head")) {
            const auto h = j.at("head").get<std::string>();
            if (h == "linear")
                c.head = HeadKind::kLinear;
            else if (h == "mlp")
                c.head = HeadKind::kMlp;
            else
                RV_THROW(ErrorCode::kInvalidArgument, "model config ", source_name,
                         ": head must be 'linear' or 'mlp', got '", h, "'");
        }
    } catch (const nlohmann::json::exception& e) {
        RV_THROW(ErrorCode::kInvalidArgument, "model config ", source_name, ": wrong type: ", e.what());
    }
    c.validate();
    return c;
}

std::string config_to_json(const VrwkvConfig& c) {
    nlohmann::json j = {{"arch", "vrwkv"},
                        {"embed_dims", c.embed_dims},
                        {"depth", c.depth},
                        {"hidden_rate", c.hidden_rate},
                        {"post_norm", c.post_norm},
                        {"key_norm", c.key_norm},
                        {"img_size", c.img_size},
                        {"patch_size", c.patch_size},
                        {"in_channels", c.in_channels},
                        {"num_classes", c.num_classes},
                        {"token_split", c.token_split},
                        {"eps", c.eps},
                        {"head", c.head == HeadKind::kMlp ? "mlp" : "linear"},
                        {"head_hidden_dims", c.head_hidden_dims}};
    j["init_values"] = c.init_values ? nlohmann::json(*c.init_values) : nlohmann::json(nullptr);
    return j.dump();
}

}  // namespace rv::backbone
