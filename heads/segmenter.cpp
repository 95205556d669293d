// Segmenter: loading (zoo id, safetensors with metadata, official .pth) and the forward pass.
// Layer: heads.
#include "heads/segmenter.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backbone/rwkv_unet.h"
#include "heads/classifier.h"
#include "vision/core/error.h"
#include "vision/weights/weight_store.h"

namespace rv::heads {
namespace fs = std::filesystem;

// The network behind a Segmenter. Today only RWKV-UNet; a later UperNet head on a VRWKV adapter
// becomes a second implementation of forward().
class SegModel {
public:
    virtual ~SegModel() = default;
    virtual void forward(const float* images, int B, int H, int W, float* logits) const = 0;
    virtual int num_classes() const = 0;

    std::string id, path;
    std::vector<std::string> class_names;
    SegPreprocess preprocess;
};

namespace {

class RwkvUnetSegModel final : public SegModel {
public:
    backbone::RwkvUnet net;
    void forward(const float* images, int B, int H, int W, float* logits) const override {
        net.forward(images, B, H, W, logits);
    }
    int num_classes() const override { return net.config().num_classes; }
};

// Synapse multi-organ labels in the TransUNet / RWKV-UNet order.
const std::vector<std::string> kSynapseLabels = {"background",  "aorta",        "gallbladder",
                                                 "kidney_left", "kidney_right", "liver",
                                                 "pancreas",    "spleen",       "stomach"};

SegPreprocess seg_preprocess_from_json(const std::string& text, const std::string& source) {
    SegPreprocess p;
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        auto get = [&](const nlohmann::json& o, const char* k, auto& out) {
            if (o.contains(k)) o.at(k).get_to(out);
        };
        get(j, "input_h", p.input_h);
        get(j, "input_w", p.input_w);
        get(j, "in_channels", p.in_channels);
        get(j, "repeat_gray_to_rgb", p.repeat_gray_to_rgb);
        get(j, "orientation", p.orientation);
        get(j, "slice_axis", p.slice_axis);
        get(j, "any_axis", p.any_axis);
        get(j, "resize_in", p.resize_in);
        get(j, "resize_out", p.resize_out);
        get(j, "train_spacing_mm", p.train_spacing_mm);
        if (j.contains("intensity")) {
            const auto& i = j.at("intensity");
            get(i, "mode", p.intensity.mode);
            get(i, "p_lo", p.intensity.p_lo);
            get(i, "p_hi", p.intensity.p_hi);
            get(i, "nonzero_only", p.intensity.nonzero_only);
            get(i, "lo", p.intensity.lo);
            get(i, "hi", p.intensity.hi);
            get(i, "mean", p.intensity.mean);
            get(i, "std", p.intensity.std);
        }
    } catch (const nlohmann::json::exception& e) {
        RV_THROW(ErrorCode::kCorruptFile, source, ": metadata 'preprocess' is not valid: ", e.what());
    }
    RV_CHECK(p.input_h > 0 && p.input_w > 0 && p.input_h % 16 == 0 && p.input_w % 16 == 0 &&
                 p.slice_axis >= 0 && p.slice_axis <= 2,
             ErrorCode::kCorruptFile, source, ": metadata 'preprocess' has impossible values (input ",
             p.input_h, "x", p.input_w, ", slice_axis ", p.slice_axis, ")");
    return p;
}

// Key prefix of an RWKV-UNet state dict ("" or e.g. "module."), found by final_conv.weight.
std::string find_unet_prefix(const weights::WeightStore& store) {
    static const std::string tail = "final_conv.weight";
    for (const std::string& k : store.keys())
        if (k.size() >= tail.size() && k.compare(k.size() - tail.size(), tail.size(), tail) == 0 &&
            store.contains(k.substr(0, k.size() - tail.size()) + "encoder.stage0.0.proj.conv.weight"))
            return k.substr(0, k.size() - tail.size());
    RV_THROW(ErrorCode::kNotFound, store.path(),
             " is not an RWKV-UNet checkpoint: no 'final_conv.weight' next to "
             "'encoder.stage0.0.proj.conv.weight'");
}

// An official checkpoint has no config: match its widths and depths against the presets.
backbone::RwkvUnetConfig infer_config(const weights::WeightStore& store, const std::string& prefix) {
    for (const char* name : {"rwkv_unet_t", "rwkv_unet_s", "rwkv_unet_b", "rwkv_unet_n"}) {
        backbone::RwkvUnetConfig c = backbone::rwkv_unet_preset(name);
        bool match = true;
        for (size_t i = 0; i < 4 && match; ++i) {
            const std::string st = prefix + "encoder.stage" + std::to_string(i + 1) + ".";
            const std::string last = st + std::to_string(c.depths[i] - 1) + ".proj.conv.weight";
            const std::string beyond = st + std::to_string(c.depths[i]) + ".proj.conv.weight";
            match = store.contains(last) && !store.contains(beyond) &&
                    store.entry(last).shape[0] == c.embed_dims[i];
        }
        if (!match) continue;
        c.num_classes = static_cast<int>(store.entry(prefix + "final_conv.weight").shape[0]);
        const std::string head = prefix + "encoder.head.weight";
        if (store.contains(head)) c.encoder_num_classes = static_cast<int>(store.entry(head).shape[0]);
        return c;
    }
    RV_THROW(
        ErrorCode::kUnsupported, store.path(),
        ": RWKV-UNet checkpoint whose stage widths/depths match no preset (T, S, B, n) and that carries no "
        "'config' metadata; convert it with a config");
}

}  // namespace

Segmenter::Segmenter() = default;
Segmenter::Segmenter(Segmenter&&) noexcept = default;
Segmenter& Segmenter::operator=(Segmenter&&) noexcept = default;
Segmenter::~Segmenter() = default;

Segmenter Segmenter::load(const std::string& model) {
    const std::string path = resolve_weights_path(model);
    weights::WeightStore store = weights::WeightStore::open(path);
    const auto& meta = store.metadata();
    const std::string prefix = find_unet_prefix(store);
    auto m = std::make_unique<RwkvUnetSegModel>();
    backbone::RwkvUnetConfig cfg;
    if (auto it = meta.find("config"); it != meta.end()) {
        cfg = backbone::rwkv_unet_config_from_json(it->second, path + " (metadata 'config')");
    } else {
        cfg = infer_config(store, prefix);
    }
    if (auto it = meta.find("preprocess"); it != meta.end()) {
        m->preprocess = seg_preprocess_from_json(it->second, path);
    } else {
        // Official Synapse models (TransUNet preprocessing, spec §6.1): HU window [-125, 275] -> [0, 1],
        // cubic-spline zoom to 224, labels back by nearest neighbour, axial slices.
        m->preprocess.input_h = m->preprocess.input_w = 224;
        m->preprocess.intensity.mode = "window";
        m->preprocess.intensity.lo = -125.0;
        m->preprocess.intensity.hi = 275.0;
        m->preprocess.resize_in = "cubic_spline";
        m->preprocess.resize_out = "nearest_labels";
    }
    m->preprocess.in_channels = cfg.in_channels();
    m->preprocess.repeat_gray_to_rgb = cfg.repeat_gray;
    if (auto it = meta.find("labels"); it != meta.end()) {
        try {
            m->class_names = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
        } catch (const nlohmann::json::exception& e) {
            RV_THROW(ErrorCode::kCorruptFile, path,
                     ": metadata 'labels' must be a JSON list of strings: ", e.what());
        }
    } else if (cfg.num_classes == 9) {
        m->class_names = kSynapseLabels;
    }
    m->net.load(backbone::ParamReader(store, prefix), store, cfg);
    store.check_all_used();
    if (m->class_names.empty())
        for (int i = 0; i < cfg.num_classes; ++i)
            m->class_names.push_back(i == 0 ? "background" : "class_" + std::to_string(i));
    RV_CHECK(static_cast<int>(m->class_names.size()) == cfg.num_classes, ErrorCode::kShapeMismatch, path,
             ": ", m->class_names.size(), " labels in the metadata for ", cfg.num_classes, " classes");
    m->path = path;
    m->id = fs::exists(model) ? fs::path(model).stem().string() : model;
    Segmenter s;
    s.model_ = std::move(m);
    return s;
}

int Segmenter::in_channels() const { return model_->preprocess.in_channels; }
int Segmenter::num_classes() const { return model_->num_classes(); }
const std::vector<std::string>& Segmenter::class_names() const { return model_->class_names; }
const SegPreprocess& Segmenter::preprocess() const { return model_->preprocess; }
const std::string& Segmenter::id() const { return model_->id; }
const std::string& Segmenter::weights_path() const { return model_->path; }

void Segmenter::forward(const float* images_nchw, int B, int H, int W, float* logits_nchw) const {
    model_->forward(images_nchw, B, H, W, logits_nchw);
}

}  // namespace rv::heads
