// The flags that choose and configure a classifier (-m, --config, --labels, --input-size,
// --crop-pct, --no-resize), shared by classify, eval cls and convert. Layer: apps.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "heads/classifier.h"

namespace rv::apps {

struct ModelFlags {
    std::string model;
    heads::LoadOptions load;
    int input_size = 0;
    double crop_pct = 0.0;

    void add_to(CLI::App& cmd, bool model_required = true);
    heads::LoadOptions options() const;  // load + the size overrides that were given
};

}  // namespace rv::apps
