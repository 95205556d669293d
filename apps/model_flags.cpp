// Classifier-selection flags. Layer: apps.
#include "apps/model_flags.h"

#include <iostream>

namespace rv::apps {

void ModelFlags::add_to(CLI::App& cmd, bool with_model) {
    if (with_model)
        cmd.add_option("-m,--model", model,
                       "zoo id (see `rwkv-vision models`) or path to .pth / .safetensors")
            ->required();
    cmd.add_option(
           "--config", load.config_path,
           "JSON with the model's constructor settings (embed_dims, depth, post_norm, ...) for checkpoints "
           "that differ from a preset")
        ->check(CLI::ExistingFile);
    cmd.add_option("--labels", load.labels_path, "class names, one per line")->check(CLI::ExistingFile);
    cmd.add_option("--input-size", input_size, "crop size the image is resized to (default: the model's)")
        ->check(CLI::Range(1, 16384));
    cmd.add_option("--crop-pct", crop_pct, "short side = input-size / crop-pct before the centre crop")
        ->check(CLI::Range(0.01, 1.0));
    cmd.add_flag("--no-resize", load.no_resize,
                 "run each image at its own size (normalised, padded by the model)");
    cmd.add_option(
        "--checkpoint-key", load.wrapper_key,
        "which entry of a wrapped .pth to load (state_dict, model, model_ema; default: first present)");
}

void EngineFlags::add_to(CLI::App& cmd, bool with_mode) {
    cmd.add_option("--batch", batch, "images per forward pass (consecutive images of the same size)")
        ->check(CLI::Range(1, 4096));
    cmd.add_option(
           "--precision", precision,
           "fp32 (default, the reference) or bf16 (bf16 matmuls with fp32 accumulation; AMX where present)")
        ->check(CLI::IsMember({"fp32", "bf16"}));
    if (with_mode)
        cmd.add_option("--mode", mode,
                       "latency (threads inside each image), throughput (one image per thread) or auto")
            ->check(CLI::IsMember({"auto", "latency", "throughput"}));
}

heads::RunOptions EngineFlags::run_options() const {
    heads::RunOptions o;
    o.batch = batch;
    o.mode = heads::parse_run_mode(mode);
    return o;
}

void EngineFlags::prepare(heads::Classifier& model) const {
    model.prepare(ops::parse_precision(precision.c_str()));
}

void describe_model(const heads::Classifier& model) {
    const auto& d = model.description();
    std::cerr << "rwkv-vision: model " << d.id << " from " << model.weights_path() << ", "
              << model.parameter_count() << " parameters, " << model.num_classes() << " classes\n"
              << "rwkv-vision: config " << backbone::config_to_json(d.config) << "\n"
              << "rwkv-vision: preprocess " << heads::preprocess_to_json(d.preprocess) << "\n";
}

heads::LoadOptions ModelFlags::options() const {
    heads::LoadOptions o = load;
    if (input_size > 0) o.input_size = input_size;
    if (crop_pct > 0.0) o.crop_pct = crop_pct;
    return o;
}

}  // namespace rv::apps
