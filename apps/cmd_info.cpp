// `rwkv-vision info FILE`: a checkpoint's keys, shapes and dtypes, the detected structure and
// the parameter count. Layer: apps.
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "backbone/vrwkv.h"
#include "vision/core/error.h"
#include "vision/weights/weight_store.h"

namespace rv::apps {

Runner add_info(CLI::App& app, const GlobalOptions&) {
    auto path = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("info", "show what a checkpoint file contains");
    cmd->add_option("file", *path, ".pth or .safetensors")->required();
    cmd->add_flag("--json", *as_json, "print JSON");
    return [path, as_json] {
        const weights::WeightStore store = weights::WeightStore::open(*path);
        std::ostringstream out;
        int64_t params = 0;
        nlohmann::json j = {
            {"file", *path},
            {"format", store.format() == weights::FileFormat::kPyTorchZip ? "pytorch-zip" : "safetensors"},
            {"wrapper", store.wrapper()},
            {"tensors", nlohmann::json::array()}};
        std::map<std::string, int64_t> by_dtype;
        for (const auto& k : store.keys()) {
            const auto& e = store.entry(k);
            const int64_t n = shape_numel(e.shape);
            params += n;
            by_dtype[weights::dtype_name(e.dtype)] += n;
            j["tensors"].push_back({{"key", k}, {"dtype", weights::dtype_name(e.dtype)}, {"shape", e.shape}});
        }
        j["parameters"] = params;
        j["metadata"] = store.metadata();
        std::string prefix;
        bool is_vrwkv = true;
        try {
            prefix = backbone::find_backbone_prefix(store);
        } catch (const Error&) {
            is_vrwkv = false;  // still list the keys
        }
        nlohmann::json structure = nullptr;
        if (is_vrwkv) {
            const auto s = backbone::detect_structure(store, prefix);
            structure = {{"arch", "vrwkv"},
                         {"prefix", prefix},
                         {"embed_dims", s.embed_dims},
                         {"depth", s.depth},
                         {"hidden_dims", s.hidden_dims},
                         {"patch_size", s.patch_size},
                         {"in_channels", s.in_channels},
                         {"pos_grid", {s.pos_h, s.pos_w}},
                         {"key_norm", s.key_norm},
                         {"layer_scale", s.layer_scale}};
        }
        j["structure"] = structure;
        if (*as_json) {
            write_output("-", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
            return kExitOk;
        }
        out << *path << ": " << j["format"].get<std::string>();
        if (!store.wrapper().empty()) out << " (weights under '" << store.wrapper() << "')";
        out << ", " << store.keys().size() << " tensors, " << params << " parameters";
        for (const auto& [d, n] : by_dtype) out << ", " << d << " " << n;
        out << "\n";
        if (!structure.is_null())
            out << "structure: VRWKV embed_dims " << structure["embed_dims"] << ", depth "
                << structure["depth"] << ", hidden " << structure["hidden_dims"] << ", patch "
                << structure["patch_size"] << ", in_channels " << structure["in_channels"] << ", pos grid "
                << structure["pos_grid"][0] << "x" << structure["pos_grid"][1] << ", key_norm "
                << (structure["key_norm"].get<bool>() ? "yes" : "no") << ", layer scale "
                << (structure["layer_scale"].get<bool>() ? "yes" : "no") << ", key prefix '" << prefix
                << "'\n";
        else
            out << "structure: not a Vision-RWKV checkpoint (no *patch_embed.projection.weight key)\n";
        for (const auto& [k, v] : store.metadata())
            out << "metadata " << k << ": " << (v.size() > 200 ? v.substr(0, 200) + "..." : v) << "\n";
        for (const auto& k : store.keys()) {
            const auto& e = store.entry(k);
            out << "  " << std::left << std::setw(56) << k << std::setw(6) << weights::dtype_name(e.dtype)
                << shape_str(e.shape) << "\n";
        }
        write_output("-", out.str());
        return kExitOk;
    };
}

}  // namespace rv::apps
