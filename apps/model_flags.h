// The flags that choose and configure a classifier (-m, --config, --labels, --input-size,
// --crop-pct, --no-resize), shared by classify, eval cls and convert. Layer: apps.
// PyTorch counterpart: none (the official configs' model and test_pipeline sections).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "heads/classifier.h"
#include "heads/classify_runner.h"

namespace rv::apps {

struct ModelFlags {
    std::string model;
    heads::LoadOptions load;
    int input_size = 0;
    double crop_pct = 0.0;

    // with_model = false: the command names its model another way (convert's first argument).
    void add_to(CLI::App& cmd, bool with_model = true);
    heads::LoadOptions options() const;  // load + the size overrides that were given
};

// How to run: --batch, --precision, --mode (classify, eval cls, bench).
struct EngineFlags {
    int batch = 1;
    std::string precision = "fp32";
    std::string mode = "auto";

    void add_to(CLI::App& cmd, bool with_mode = true);
    heads::RunOptions run_options() const;
    // Packs the model's weights for --precision (reports kUnsupported when the CPU cannot).
    void prepare(heads::Classifier& model) const;
};

// -v: what was loaded (weights file, configuration, preprocessing, parameters) on stderr.
void describe_model(const heads::Classifier& model);

}  // namespace rv::apps
