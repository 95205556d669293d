// Classifier: a VRWKV backbone + classification head + the preprocessing and labels it was
// trained with, loaded from a zoo id or a checkpoint path by the official key names.
// Layer: heads. PyTorch counterpart: mmcls ImageClassifier (backbone, GAP neck, LinearClsHead)
// built from classification/configs/vrwkv/*.py and loaded with load_checkpoint(strict=True).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backbone/vrwkv.h"
#include "heads/classification_head.h"
#include "vision/image/preprocess.h"

namespace rv::heads {

struct LoadOptions {
    std::string config_path;         // --config: JSON with the official constructor's field names
    std::string labels_path;         // --labels: one class name per line
    std::optional<int> input_size;   // --input-size
    std::optional<double> crop_pct;  // --crop-pct
    bool no_resize = false;          // --no-resize: run each image at its own size
    std::string wrapper_key;         // which wrapper dict of a .pth to use ("" = auto)
};

// Everything that describes a model besides its tensors; written to safetensors metadata by
// `convert` and read back from it.
struct ModelDescription {
    std::string id;
    backbone::VrwkvConfig config;
    image::PreprocessConfig preprocess;
    std::vector<std::string> labels;
    // The config was given (flag, metadata, zoo): the head in the file must match it. False when
    // the config was only inferred from the file's structure.
    bool config_is_explicit = true;
    // Things the user should know about how the model was resolved (apps print them on stderr).
    std::vector<std::string> notes;
};

class Classifier {
public:
    // `model` is a zoo id or a path to .pth / .safetensors. Strict: missing, unexpected or
    // mis-shaped keys fail with the file, the key and both shapes.
    static Classifier load(const std::string& model, const LoadOptions& options = {});

    // Builds from tensors already in a store (tests with generated weights). The store's keys use
    // the mmcls layout (backbone.*, head.*). desc.labels may be empty (class_<i> names are made).
    static Classifier from_store(weights::WeightStore& store, ModelDescription desc);

    // A model with random weights (benchmarks: `rwkv-vision bench -m vrwkv_t`), deterministic in
    // `seed`, initialised like the official code's ranges (decay, first, mix) so the numerics are
    // representative.
    static Classifier random(const backbone::VrwkvConfig& config, uint64_t seed = 0);

    // Packs the weights for `precision` (fp32 by default; call before the first forward pass).
    void prepare(ops::Precision precision);
    ops::Precision precision() const { return precision_; }

    // images [B, C_in, H, W] normalised -> logits [B, num_classes], with the caller's context
    // (one per thread; sized on first use of a shape, then reused without allocating).
    Tensor forward(backbone::ForwardContext& ctx, const Tensor& images) const;
    // The same with a temporary context.
    Tensor forward(const Tensor& images, const backbone::TraceFn& trace = {}) const;

    // Benchmarks: the matmuls of forward() on images of this shape [B, C_in, H, W] alone (the
    // "matmul ceiling"; see Vrwkv::run_matmuls_only). The head's tiny matmul is left out.
    void run_matmuls_only(backbone::ForwardContext& ctx, const Shape& images_shape) const;

    // 8-bit image -> [C_in, H, W] tensor as the model expects it.
    Tensor preprocess(const image::Image8& img) const;

    // An image file through the whole pipeline (load in the model's colour mode, preprocess,
    // forward): logits [1, num_classes]. Throws rv::Error naming the file.
    Tensor classify_file(const std::string& path) const;
    image::ColorMode color_mode() const { return desc_.preprocess.color; }

    const ModelDescription& description() const { return desc_; }
    const std::vector<std::string>& labels() const { return desc_.labels; }
    const std::string& weights_path() const { return path_; }
    int64_t num_classes() const { return head_.num_classes(); }
    int64_t parameter_count() const { return parameters_; }

private:
    ModelDescription desc_;
    std::string path_;
    backbone::Vrwkv backbone_;
    ClassificationHead head_;
    int64_t parameters_ = 0;
    ops::Precision precision_ = ops::Precision::kF32;

    friend void convert_to_safetensors(const std::string&, const LoadOptions&, const std::string&);
};

// Loads `model` strictly, then writes its tensors (fp32, official key names) and its description
// to `out_path` as .safetensors, so the converted file needs no other flag.
void convert_to_safetensors(const std::string& model, const LoadOptions& options,
                            const std::string& out_path);

// JSON forms used in safetensors metadata (keys "config", "preprocess", "labels").
std::string preprocess_to_json(const image::PreprocessConfig& p);
image::PreprocessConfig preprocess_from_json(const std::string& text, const std::string& source_name);

// Where the weights of a zoo id or path are; throws kNotFound with advice for official ids
// that are not on this machine.
std::string resolve_weights_path(const std::string& model);

}  // namespace rv::heads
