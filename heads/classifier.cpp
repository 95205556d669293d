// Classifier loading (config, preprocessing and labels resolution) and forward. Layer: heads.
#include "heads/classifier.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "heads/random_weights.h"
#include "heads/zoo.h"
#include "vision/core/error.h"
#include "vision/core/op_profile.h"
#include "vision/image/image.h"
#include "vision/ops/kernels.h"

namespace rv::heads {
namespace fs = std::filesystem;
using nlohmann::json;

std::string preprocess_to_json(const image::PreprocessConfig& p) {
    json j = {{"input_size", p.input_size},
              {"crop_pct", p.crop_pct},
              {"resize", p.resize},
              {"interpolation", p.filter == image::Filter::kBilinear  ? "bilinear"
                                : p.filter == image::Filter::kNearest ? "nearest"
                                                                      : "bicubic"},
              {"color", p.color == image::ColorMode::kGray ? "gray" : "rgb"},
              {"mean", p.mean},
              {"std", p.std}};
    return j.dump();
}

image::PreprocessConfig preprocess_from_json(const std::string& text, const std::string& source_name) {
    image::PreprocessConfig p;
    try {
        const json j = json::parse(text);
        static const std::set<std::string> known = {"input_size", "crop_pct", "resize", "interpolation",
                                                    "color",      "mean",     "std"};
        for (const auto& [k, v] : j.items())
            RV_CHECK(known.count(k), ErrorCode::kInvalidArgument, source_name, ": unknown preprocess field '",
                     k, "'");
        if (j.contains("input_size")) p.input_size = j.at("input_size").get<int>();
        if (j.contains("crop_pct")) p.crop_pct = j.at("crop_pct").get<double>();
        if (j.contains("resize")) p.resize = j.at("resize").get<bool>();
        if (j.contains("interpolation")) {
            const auto f = j.at("interpolation").get<std::string>();
            if (f == "bicubic")
                p.filter = image::Filter::kBicubic;
            else if (f == "bilinear")
                p.filter = image::Filter::kBilinear;
            else if (f == "nearest")
                p.filter = image::Filter::kNearest;
            else
                RV_THROW(ErrorCode::kInvalidArgument, source_name, ": unknown interpolation '", f, "'");
        }
        if (j.contains("color")) {
            const auto c = j.at("color").get<std::string>();
            RV_CHECK(c == "rgb" || c == "gray", ErrorCode::kInvalidArgument, source_name,
                     ": color must be rgb or gray");
            p.color = c == "gray" ? image::ColorMode::kGray : image::ColorMode::kRgb;
        }
        if (j.contains("mean")) p.mean = j.at("mean").get<std::vector<float>>();
        if (j.contains("std")) p.std = j.at("std").get<std::vector<float>>();
    } catch (const json::exception& e) {
        RV_THROW(ErrorCode::kInvalidArgument, source_name, ": bad preprocess description: ", e.what());
    }
    const size_t ch = p.color == image::ColorMode::kGray ? 1 : 3;
    RV_CHECK(p.mean.size() == ch && p.std.size() == ch, ErrorCode::kInvalidArgument, source_name,
             ": mean/std need ", ch, " values for color '",
             p.color == image::ColorMode::kGray ? "gray" : "rgb", "'");
    for (float s : p.std)
        RV_CHECK(s > 0.0f, ErrorCode::kInvalidArgument, source_name, ": std values must be positive");
    RV_CHECK(p.input_size > 0 && p.crop_pct > 0.0 && p.crop_pct <= 1.0, ErrorCode::kInvalidArgument,
             source_name, ": input_size must be positive and crop_pct in (0, 1]");
    return p;
}

static bool looks_like_path(const std::string& model) {
    return model.find('/') != std::string::npos || model.ends_with(".pth") || model.ends_with(".pt") ||
           model.ends_with(".safetensors") || model.ends_with(".bin") || fs::exists(model);
}

std::string resolve_weights_path(const std::string& model) {
    if (looks_like_path(model)) {
        RV_CHECK(fs::exists(model), ErrorCode::kNotFound, "model file '", model, "' does not exist");
        return model;
    }
    const ZooEntry* e = find_zoo_entry(model);
    if (!e) {
        std::ostringstream known;
        for (const auto& z : zoo_entries()) known << (known.tellp() > 0 ? ", " : "") << z.id;
        RV_THROW(ErrorCode::kNotFound, "unknown model '", model, "'; known ids: ", known.str(),
                 " (or pass a path to a .pth / .safetensors file)");
    }
    if (!e->bundled_file.empty()) return (fs::path(data_dir()) / e->bundled_file).string();
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("RWKV_VISION_MODELS"); env && *env) dirs.emplace_back(env);
    try {
        dirs.push_back(fs::path(data_dir()) / "models");
    } catch (const Error&) {
    }
    for (const auto& d : dirs)
        for (const char* ext : {".pth", ".safetensors"})
            if (fs::exists(d / (model + ext))) return (d / (model + ext)).string();
    RV_THROW(ErrorCode::kNotFound, "model '", model,
             "' is an official checkpoint that is not on this machine: get ", model,
             ".pth from the official Vision-RWKV release and pass its path with -m, or put it in the folder "
             "named by $RWKV_VISION_MODELS");
}

namespace {

std::string head_prefix_for(const std::string& backbone_prefix) {
    static const std::string b = "backbone.";
    if (backbone_prefix.ends_with(b))
        return backbone_prefix.substr(0, backbone_prefix.size() - b.size()) + "head.";
    return backbone_prefix + "head.";
}

// A preset whose width and depth match the file, for checkpoints that come without a config.
const char* preset_for_structure(const backbone::CheckpointStructure& s) {
    for (const char* const* n = backbone::vrwkv_preset_names(); *n; ++n) {
        const auto c = backbone::vrwkv_preset(*n);
        if (c.embed_dims == s.embed_dims && c.depth == s.depth) return *n;
    }
    return nullptr;
}

std::string read_text_file(const std::string& path) {
    std::ifstream f(path);
    RV_CHECK(f.good(), ErrorCode::kNotFound, "cannot open ", path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct Resolved {
    ModelDescription desc;
    std::string path;
};

// Decides config, preprocessing and labels, in order of precedence: command-line files, the
// weights file's own metadata, the zoo entry (by id or file stem), the structure in the file.
Resolved resolve(const std::string& model, const LoadOptions& opt, const weights::WeightStore& store) {
    Resolved r;
    r.path = store.path();
    const std::string prefix = backbone::find_backbone_prefix(store);
    const auto& meta = store.metadata();
    const std::string stem = fs::path(r.path).stem().string();
    const ZooEntry* zoo = find_zoo_entry(model);
    if (!zoo) zoo = find_zoo_entry(stem);
    if (zoo && !zoo->bundled_file.empty()) zoo = nullptr;  // bundled models describe themselves
    r.desc.id = zoo ? zoo->id : (meta.count("model_id") ? meta.at("model_id") : stem);

    std::optional<image::PreprocessConfig> pre;
    std::string labels_source;
    if (!opt.config_path.empty()) {
        // The --config file: the official constructor's fields, optionally with "preprocess" and
        // "labels" objects beside them (our extension, split off before the strict model parse).
        json j;
        try {
            j = json::parse(read_text_file(opt.config_path));
        } catch (const json::exception& e) {
            RV_THROW(ErrorCode::kInvalidArgument, "config ", opt.config_path,
                     " is not valid JSON: ", e.what());
        }
        RV_CHECK(j.is_object(), ErrorCode::kInvalidArgument, "config ", opt.config_path,
                 " must be a JSON object");
        if (j.contains("preprocess")) {
            pre = preprocess_from_json(j.at("preprocess").dump(), opt.config_path);
            j.erase("preprocess");
        }
        if (j.contains("labels")) {
            try {
                r.desc.labels = j.at("labels").get<std::vector<std::string>>();
            } catch (const json::exception&) {
                RV_THROW(ErrorCode::kInvalidArgument, "config ", opt.config_path,
                         ": labels must be a list of strings");
            }
            labels_source = opt.config_path;
            j.erase("labels");
        }
        r.desc.config = backbone::config_from_json(j.dump(), opt.config_path);
    } else if (meta.count("config")) {
        try {
            r.desc.config = backbone::config_from_json(meta.at("config"), r.path + " (metadata)");
        } catch (const Error& e) {
            RV_THROW(ErrorCode::kCorruptFile, e.what());  // the file is wrong, not the command line
        }
    } else if (zoo) {
        r.desc.config = zoo->config;
    } else {
        const auto s = backbone::detect_structure(store, prefix);
        const char* preset = preset_for_structure(s);
        RV_CHECK(preset, ErrorCode::kInvalidArgument, "cannot tell the structure of ", r.path,
                 " (embed_dims ", s.embed_dims, ", depth ", s.depth,
                 " match no preset): pass --config with the model's settings (see README)");
        r.desc.config = backbone::vrwkv_preset(preset);
        r.desc.config_is_explicit = false;
        r.desc.notes.push_back(str("no configuration for ", r.path, ": using preset ", preset, " (post_norm ",
                                   r.desc.config.post_norm ? "true" : "false",
                                   ", which the weights cannot show); pass --config if this is wrong"));
        r.desc.config.patch_size = s.patch_size;
        r.desc.config.in_channels = s.in_channels;
    }
    if (!pre) {
        if (meta.count("preprocess"))
            pre = preprocess_from_json(meta.at("preprocess"), r.path + " (metadata)");
        else if (zoo)
            pre = zoo->preprocess;
        else
            pre = r.desc.config.img_size >= 384 || r.desc.config.embed_dims == 1024
                      ? imagenet_preprocess(384, 1.0)
                      : imagenet_preprocess(224, 0.875);
    }
    r.desc.preprocess = *pre;
    if (opt.input_size) r.desc.preprocess.input_size = *opt.input_size;
    if (opt.crop_pct) r.desc.preprocess.crop_pct = *opt.crop_pct;
    if (opt.no_resize) r.desc.preprocess.resize = false;
    RV_CHECK(r.desc.preprocess.input_size > 0 && r.desc.preprocess.crop_pct > 0 &&
                 r.desc.preprocess.crop_pct <= 1.0,
             ErrorCode::kInvalidArgument, "--input-size must be positive and --crop-pct in (0, 1]");
    if (r.desc.config.in_channels == 1) r.desc.preprocess.color = image::ColorMode::kGray;
    const size_t channels = r.desc.preprocess.color == image::ColorMode::kGray ? 1 : 3;
    RV_CHECK(static_cast<int>(channels) == r.desc.config.in_channels, ErrorCode::kInvalidArgument,
             "the model takes ", r.desc.config.in_channels, " input channels but its preprocessing gives ",
             channels, " (color '", channels == 1 ? "gray" : "rgb", "')");

    if (!opt.labels_path.empty()) {
        r.desc.labels = read_labels(opt.labels_path);
        labels_source = opt.labels_path;
    } else if (labels_source.empty() && meta.count("labels")) {
        try {
            r.desc.labels = json::parse(meta.at("labels")).get<std::vector<std::string>>();
        } catch (const json::exception& e) {
            RV_THROW(ErrorCode::kCorruptFile, r.path,
                     ": metadata 'labels' is not a JSON list of strings: ", e.what());
        }
        labels_source = r.path + " (metadata)";
    } else if (labels_source.empty() && zoo && !zoo->labels_file.empty()) {
        labels_source = (fs::path(data_dir()) / zoo->labels_file).string();
        r.desc.labels = read_labels(labels_source);
    }
    return r;
}

int64_t count_parameters(const weights::WeightStore& store) {
    int64_t n = 0;
    for (const auto& k : store.keys()) n += shape_numel(store.entry(k).shape);
    return n;
}

}  // namespace

Classifier Classifier::load(const std::string& model, const LoadOptions& options) {
    const std::string path = resolve_weights_path(model);
    weights::WeightStore store = weights::WeightStore::open(path, options.wrapper_key);
    Resolved r = resolve(model, options, store);
    return from_store(store, std::move(r.desc));
}

Classifier Classifier::from_store(weights::WeightStore& store, ModelDescription desc) {
    const std::string prefix = backbone::find_backbone_prefix(store);
    Classifier c;
    c.path_ = store.path();
    c.desc_ = std::move(desc);
    c.backbone_.load(store, prefix, c.desc_.config);
    c.head_.load(store, head_prefix_for(prefix), c.desc_.config, c.desc_.config_is_explicit);
    store.check_all_used();
    c.parameters_ = count_parameters(store);
    const auto n = static_cast<size_t>(c.head_.num_classes());
    if (c.desc_.labels.empty()) {
        for (size_t i = 0; i < n; ++i) c.desc_.labels.push_back("class_" + std::to_string(i));
    }
    RV_CHECK(c.desc_.labels.size() == n, ErrorCode::kInvalidArgument, "the label list has ",
             c.desc_.labels.size(), " names but model ", c.path_, " has ", n,
             " classes; pass a matching --labels file");
    return c;
}

Classifier Classifier::random(const backbone::VrwkvConfig& config, uint64_t seed) {
    weights::WeightStore store = random_checkpoint(config, seed);
    ModelDescription desc;
    desc.id = "random";
    desc.config = config;
    desc.preprocess = image::PreprocessConfig{};
    desc.preprocess.input_size = config.img_size;
    Classifier c = from_store(store, std::move(desc));
    c.path_ = "(random weights)";
    return c;
}

void Classifier::prepare(ops::Precision precision) {
    backbone_.prepare(precision);
    precision_ = precision;
}

Tensor Classifier::forward(backbone::ForwardContext& ctx, const Tensor& images) const {
    RV_CHECK(images.ndim() == 4, ErrorCode::kShapeMismatch, "model expects images [B, ",
             desc_.config.in_channels, ", H, W], got ", shape_str(images.shape()));
    const int64_t B = images.dim(0), H = images.dim(2), W = images.dim(3), C = desc_.config.embed_dims;
    int64_t Hp = 0, Wp = 0;
    backbone_.check_input(B, images.dim(1), H, W, Hp, Wp);
    backbone_.prepare_context(ctx, B, H, W);
    const float* tokens = backbone_.forward(ctx, images.data(), B, H, W);
    Tensor feat({B, C});
    {
        OpTimer timer(ctx.profile, OpClass::kOther);
        const int64_t T = Hp * Wp;
        for (int64_t b = 0; b < B; ++b)
            ops::kernels().mean_tokens(tokens + b * T * C, T, C, 0, C, feat.data() + b * C);
    }
    if (ctx.trace) ctx.trace("feat", feat.data(), feat.shape());
    Tensor logits;
    {
        OpTimer timer(ctx.profile, OpClass::kMatmul);
        logits = head_.forward(feat);
    }
    for (int64_t i = 0; i < logits.numel(); ++i)
        RV_CHECK(std::isfinite(logits[i]), ErrorCode::kCorruptFile,
                 "the model produced non-finite logits (NaN/Inf): ", "the weights in ", path_,
                 " or the input contain non-finite values");
    return logits;
}

void Classifier::run_matmuls_only(backbone::ForwardContext& ctx, const Shape& s) const {
    RV_CHECK(s.size() == 4, ErrorCode::kShapeMismatch, "model expects images [B, C, H, W], got ",
             shape_str(s));
    int64_t Hp = 0, Wp = 0;
    backbone_.check_input(s[0], s[1], s[2], s[3], Hp, Wp);
    backbone_.prepare_context(ctx, s[0], s[2], s[3]);
    backbone_.run_matmuls_only(ctx, s[0], s[2], s[3]);
}

Tensor Classifier::forward(const Tensor& images, const backbone::TraceFn& trace) const {
    backbone::ForwardContext ctx;
    ctx.trace = trace;
    return forward(ctx, images);
}

Tensor Classifier::preprocess(const image::Image8& img) const {
    return image::preprocess(img, desc_.preprocess);
}

Tensor Classifier::classify_file(const std::string& path) const {
    Tensor x = preprocess(image::load_image(path, color_mode()));
    Shape s = x.shape();
    s.insert(s.begin(), 1);
    x.reshape(s);
    return forward(x);
}

void convert_to_safetensors(const std::string& model, const LoadOptions& options,
                            const std::string& out_path) {
    const Classifier c = Classifier::load(model, options);
    const weights::WeightStore store = weights::WeightStore::open(c.path_, options.wrapper_key);
    std::vector<std::pair<std::string, Tensor>> owned;
    for (const auto& k : store.keys()) owned.emplace_back(k, store.get(k));
    std::vector<std::pair<std::string, const Tensor*>> refs;
    for (const auto& [k, t] : owned) refs.emplace_back(k, &t);
    const std::map<std::string, std::string> meta = {
        {"format", "rwkv-vision"},
        {"model_id", c.desc_.id},
        {"config", backbone::config_to_json(c.desc_.config)},
        {"preprocess", preprocess_to_json(c.desc_.preprocess)},
        {"labels", json(c.desc_.labels).dump()},
    };
    weights::write_safetensors(out_path, refs, meta);
}

}  // namespace rv::heads
