// Restore-RWKV config: JSON form, checks, inference from checkpoint shapes. Layer: backbone.
#include "backbone/restore_rwkv_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "vision/core/error.h"
#include "vision/weights/weight_store.h"

namespace rv::backbone {

void RestoreRwkvConfig::validate() const {
    auto in_range = [](int v, const char* name, int lo, int hi) {
        RV_CHECK(v >= lo && v <= hi, ErrorCode::kInvalidArgument, "Restore-RWKV config: '", name,
                 "' must be in [", lo, ", ", hi, "], got ", v);
    };
    in_range(inp_channels, "inp_channels", 1, 64);
    in_range(out_channels, "out_channels", 1, 64);
    RV_CHECK(inp_channels == out_channels, ErrorCode::kInvalidArgument, "Restore-RWKV config: inp_channels (",
             inp_channels, ") must equal out_channels (", out_channels,
             "): the network adds its input to its output");
    in_range(dim, "dim", 1, 4096);
    for (int n : num_blocks) in_range(n, "num_blocks[i]", 0, 256);
    in_range(num_refinement_blocks, "num_refinement_blocks", 0, 256);
    RV_CHECK(hidden_rate > 0 && hidden_rate <= 64, ErrorCode::kInvalidArgument,
             "Restore-RWKV config: hidden_rate must be in (0, 64], got ", hidden_rate);
    in_range(token_split, "token_split", 1, 1 << 16);
    in_range(scale, "scale", 1, 8);
    RV_CHECK(eps >= 0.0, ErrorCode::kInvalidArgument, "Restore-RWKV config: eps must be >= 0");
}

RestoreRwkvConfig restore_rwkv_official() {
    RestoreRwkvConfig c;
    c.inp_channels = c.out_channels = 1;
    return c;
}

int64_t parameter_count(const RestoreRwkvConfig& c) {
    auto block = [&](int64_t C) {
        const int64_t Hd = static_cast<int64_t>(c.hidden_rate * static_cast<double>(C));
        int64_t n = 4 * C + 2 * C;        // ln1, ln2, gamma1, gamma2
        n += 2 * (C * (1 + 9 + 25) + 4);  // two Omni-Shifts (branches + alpha)
        n += 4 * C * C + 4 * C;           // att k/v/r/o + decay/first [2, C]
        n += 2 * Hd * C + C * C;          // ffn key, value, receptance
        if (c.key_norm) n += 2 * C + 2 * Hd;
        return n;
    };
    const int64_t d = c.dim, in = c.inp_channels;
    int64_t n = d * in * 9 + d;                                        // patch_embed
    n += c.num_blocks[0] * block(d) + c.num_blocks[1] * block(2 * d);  // encoder 1, 2
    n += c.num_blocks[2] * block(4 * d) + c.num_blocks[3] * block(8 * d);
    n += c.num_blocks[2] * block(4 * d) + c.num_blocks[1] * block(2 * d);  // decoder 3, 2
    n += (c.num_blocks[0] + c.num_refinement_blocks) * block(2 * d);       // decoder 1, refinement
    n += 9 * (d * (d / 2) + 2 * d * d + 8 * d * d);                        // down convs (n -> n/2)
    n += 9 * (128 * d * d + 32 * d * d + 8 * d * d);                       // up convs (n -> 2n)
    n += 8 * d * 4 * d + 4 * d + 4 * d * 2 * d + 2 * d;                    // reduce_chan 3, 2
    n += 2 * d * in * 9 + in;                                              // output
    return n;
}

namespace {
const std::set<std::string> kFields = {
    "inp_channels", "out_channels", "dim",         "num_blocks", "num_refinement_blocks",
    "hidden_rate",  "key_norm",     "token_split", "eps",        "scale",
    "name",         "arch"};
}

RestoreRwkvConfig restore_config_from_json(const std::string& text, const std::string& source) {
    RestoreRwkvConfig c;
    try {
        const auto j = nlohmann::json::parse(text);
        RV_CHECK(j.is_object(), ErrorCode::kInvalidArgument, source,
                 ": Restore-RWKV config must be a JSON object");
        for (const auto& [key, value] : j.items()) {
            RV_CHECK(kFields.count(key), ErrorCode::kInvalidArgument, source,
                     ": unknown Restore-RWKV config field '", key, "'");
            (void)value;
        }
        if (j.contains("arch") && !j.at("arch").is_null())
            RV_CHECK(j.at("arch").get<std::string>() == "restore_rwkv", ErrorCode::kInvalidArgument, source,
                     ": config arch is '", j.at("arch").get<std::string>(), "', not restore_rwkv");
        c.inp_channels = j.value("inp_channels", c.inp_channels);
        c.out_channels = j.value("out_channels", c.out_channels);
        c.dim = j.value("dim", c.dim);
        if (j.contains("num_blocks")) {
            const auto& nb = j.at("num_blocks");
            RV_CHECK(nb.is_array() && nb.size() == 4, ErrorCode::kInvalidArgument, source,
                     ": num_blocks needs 4 entries");
            for (size_t i = 0; i < 4; ++i) c.num_blocks[i] = nb[i].get<int>();
        }
        c.num_refinement_blocks = j.value("num_refinement_blocks", c.num_refinement_blocks);
        c.hidden_rate = j.value("hidden_rate", c.hidden_rate);
        c.key_norm = j.value("key_norm", c.key_norm);
        c.token_split = j.value("token_split", c.token_split);
        c.eps = j.value("eps", c.eps);
        c.scale = j.value("scale", c.scale);
    } catch (const nlohmann::json::exception& e) {
        RV_THROW(ErrorCode::kInvalidArgument, source, ": malformed Restore-RWKV config: ", e.what());
    }
    c.validate();
    return c;
}

std::string restore_config_to_json(const RestoreRwkvConfig& c) {
    nlohmann::json j;
    j["arch"] = "restore_rwkv";
    j["inp_channels"] = c.inp_channels;
    j["out_channels"] = c.out_channels;
    j["dim"] = c.dim;
    j["num_blocks"] = c.num_blocks;
    j["num_refinement_blocks"] = c.num_refinement_blocks;
    j["hidden_rate"] = c.hidden_rate;
    j["key_norm"] = c.key_norm;
    j["token_split"] = c.token_split;
    j["eps"] = c.eps;
    j["scale"] = c.scale;
    return j.dump();
}

bool looks_like_restore_rwkv(const weights::WeightStore& store) {
    return store.contains("patch_embed.weight") && store.contains("encoder_level1.0.ln1.weight") &&
           store.contains("down1_2.body.0.weight");
}

RestoreRwkvConfig infer_restore_config(const weights::WeightStore& store) {
    RV_CHECK(looks_like_restore_rwkv(store), ErrorCode::kShapeMismatch, store.path(),
             ": not a Restore-RWKV checkpoint (no patch_embed.weight / encoder_level1.0 / down1_2 keys)");
    RestoreRwkvConfig c;
    const Shape pe = store.entry("patch_embed.weight").shape;
    RV_CHECK(pe.size() == 4, ErrorCode::kShapeMismatch, store.path(), ": patch_embed.weight has shape ",
             shape_str(pe), ", expected [dim, channels, 3, 3]");
    c.dim = static_cast<int>(pe[0]);
    c.inp_channels = c.out_channels = static_cast<int>(pe[1]);
    auto count = [&](const std::string& level) {
        int n = 0;
        while (store.contains(level + "." + std::to_string(n) + ".ln1.weight")) ++n;
        return n;
    };
    c.num_blocks = {count("encoder_level1"), count("encoder_level2"), count("encoder_level3"),
                    count("latent")};
    c.num_refinement_blocks = count("refinement");
    if (store.contains("encoder_level1.0.ffn.key.weight")) {
        const Shape k = store.entry("encoder_level1.0.ffn.key.weight").shape;
        if (k.size() == 2 && c.dim > 0) c.hidden_rate = static_cast<double>(k[0]) / c.dim;
    }
    c.key_norm = store.contains("encoder_level1.0.att.key_norm.weight");
    c.validate();
    return c;
}

}  // namespace rv::backbone
